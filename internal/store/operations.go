package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

const operationColumns = `id, service_arn, type, status, started_at, ended_at, updated_at, config, reason, attempts, revision, trigger`

func scanOperation(row scanner) (Operation, error) {
	var (
		o                       Operation
		started, ended, updated int64
		config                  sql.NullString
	)
	err := row.Scan(&o.ID, &o.ServiceARN, &o.Type, &o.Status, &started, &ended, &updated, &config,
		&o.Reason, &o.Attempts, &o.Revision, &o.Trigger)
	if errors.Is(err, sql.ErrNoRows) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, err
	}
	o.StartedAt, o.EndedAt, o.UpdatedAt = fromNanos(started), fromNanos(ended), fromNanos(updated)
	if config.Valid {
		o.Config = new(Config)
		if err := json.Unmarshal([]byte(config.String), o.Config); err != nil {
			return o, fmt.Errorf("operation %s config: %w", o.ID, err)
		}
	}
	return o, nil
}

// Operation returns one operation.
func (tx *Tx) Operation(id string) (Operation, error) {
	return scanOperation(tx.q.QueryRowContext(tx.ctx, `SELECT `+operationColumns+` FROM operations WHERE id = ?`, id))
}

func (tx *Tx) queryOperations(q string, args ...any) ([]Operation, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `SELECT `+operationColumns+` FROM operations `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Operation
	for rows.Next() {
		o, err := scanOperation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Operations lists a service's operations, newest first.
func (tx *Tx) Operations(serviceARN string) ([]Operation, error) {
	return tx.queryOperations(`WHERE service_arn = ? ORDER BY seq DESC`, serviceARN)
}

// UnfinishedOperations lists operations that have not reached a final
// status, oldest first.
func (tx *Tx) UnfinishedOperations() ([]Operation, error) {
	return tx.queryOperations(`WHERE status IN ('PENDING','IN_PROGRESS','ROLLBACK_IN_PROGRESS') ORDER BY seq`)
}

// PutOperation inserts or replaces an operation.
func (tx *Tx) PutOperation(o Operation) error {
	config, err := nullJSON(o.Config, o.Config == nil)
	if err != nil {
		return err
	}
	return tx.exec(`INSERT INTO operations (`+operationColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET status=excluded.status, ended_at=excluded.ended_at,
		updated_at=excluded.updated_at, config=excluded.config, reason=excluded.reason,
		attempts=excluded.attempts, revision=excluded.revision, trigger=excluded.trigger`,
		o.ID, o.ServiceARN, o.Type, o.Status, toNanos(o.StartedAt), toNanos(o.EndedAt), toNanos(o.UpdatedAt),
		config, o.Reason, o.Attempts, o.Revision, o.Trigger)
}

// UnfinishedOperationsOf lists one service's unfinished operations, oldest
// first.
func (tx *Tx) UnfinishedOperationsOf(serviceARN string) ([]Operation, error) {
	return tx.queryOperations(`WHERE service_arn = ? AND status IN ('PENDING','IN_PROGRESS','ROLLBACK_IN_PROGRESS') ORDER BY seq`, serviceARN)
}
