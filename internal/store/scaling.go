package store

import "time"

// ScalingEvent records one change of a service's instance count by the
// autoscaler: not an operation (App Runner lists none for scaling), but
// shown beside them in the console's Activity.
type ScalingEvent struct {
	Seq        int64
	ServiceARN string
	At         time.Time
	From, To   int // instances before and after
	// Concurrency is the observed concurrency (requests in flight and
	// queued) that drove the decision.
	Concurrency float64
	Reason      string
}

// maxScalingEvents is how many events are kept per service.
const maxScalingEvents = 200

// PutScalingEvent appends an event to the service's log, keeping the newest
// maxScalingEvents.
func (tx *Tx) PutScalingEvent(ev ScalingEvent) error {
	if err := tx.exec(`INSERT INTO scaling_events (service_arn, at, from_count, to_count, concurrency, reason)
		VALUES (?,?,?,?,?,?)`, ev.ServiceARN, toNanos(ev.At), ev.From, ev.To, ev.Concurrency, ev.Reason); err != nil {
		return err
	}
	return tx.exec(`DELETE FROM scaling_events WHERE service_arn = ? AND seq NOT IN
		(SELECT seq FROM scaling_events WHERE service_arn = ? ORDER BY seq DESC LIMIT ?)`,
		ev.ServiceARN, ev.ServiceARN, maxScalingEvents)
}

// ScalingEvents lists a service's scaling events, newest first.
func (tx *Tx) ScalingEvents(serviceARN string) ([]ScalingEvent, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `SELECT seq, service_arn, at, from_count, to_count, concurrency, reason
		FROM scaling_events WHERE service_arn = ? ORDER BY seq DESC`, serviceARN)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ScalingEvent
	for rows.Next() {
		var ev ScalingEvent
		var at int64
		if err := rows.Scan(&ev.Seq, &ev.ServiceARN, &at, &ev.From, &ev.To, &ev.Concurrency, &ev.Reason); err != nil {
			return nil, err
		}
		ev.At = fromNanos(at)
		out = append(out, ev)
	}
	return out, rows.Err()
}
