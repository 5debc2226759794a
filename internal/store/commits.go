package store

import (
	"database/sql"
	"errors"
	"time"
)

// Commit decisions.
const (
	DecisionDeploy = "deploy"
	DecisionSkip   = "skip"
)

// CommitDecision records what automatic deployment decided about a commit
// on a service's branch, and why.
type CommitDecision struct {
	Seq         int64
	ServiceARN  string
	Commit      string
	Author      string
	Message     string
	CommittedAt time.Time
	DecidedAt   time.Time
	Decision    string // DecisionDeploy or DecisionSkip
	Reason      string
	OperationID string // the deployment it started or joined
	Trigger     string // "poll", "webhook"
}

// PutCommitDecision appends a decision to the log.
func (tx *Tx) PutCommitDecision(d CommitDecision) error {
	return tx.exec(`INSERT INTO commit_decisions (service_arn, commit_hash, author, message, committed_at, decided_at,
		decision, reason, operation_id, trigger) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		d.ServiceARN, d.Commit, d.Author, d.Message, toNanos(d.CommittedAt), toNanos(d.DecidedAt),
		d.Decision, d.Reason, d.OperationID, d.Trigger)
}

// CommitDecisions lists a service's decisions, newest first.
func (tx *Tx) CommitDecisions(serviceARN string) ([]CommitDecision, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `SELECT seq, service_arn, commit_hash, author, message, committed_at,
		decided_at, decision, reason, operation_id, trigger FROM commit_decisions WHERE service_arn = ? ORDER BY seq DESC`, serviceARN)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CommitDecision
	for rows.Next() {
		var (
			d                  CommitDecision
			committed, decided int64
		)
		if err := rows.Scan(&d.Seq, &d.ServiceARN, &d.Commit, &d.Author, &d.Message, &committed, &decided,
			&d.Decision, &d.Reason, &d.OperationID, &d.Trigger); err != nil {
			return nil, err
		}
		d.CommittedAt, d.DecidedAt = fromNanos(committed), fromNanos(decided)
		out = append(out, d)
	}
	return out, rows.Err()
}

// ConsideredHead returns the last branch head automatic deployment
// considered for a service ("" if none yet).
func (tx *Tx) ConsideredHead(serviceARN string) (string, error) {
	var h string
	err := tx.q.QueryRowContext(tx.ctx, `SELECT head FROM considered_heads WHERE service_arn = ?`, serviceARN).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return h, err
}

// PutConsideredHead records the last head considered for a service.
func (tx *Tx) PutConsideredHead(serviceARN, head string) error {
	return tx.exec(`INSERT INTO considered_heads (service_arn, head) VALUES (?,?)
		ON CONFLICT(service_arn) DO UPDATE SET head=excluded.head`, serviceARN, head)
}
