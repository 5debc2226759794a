package store

import (
	"encoding/json"
	"fmt"
)

// Instances lists a service's instances ("" lists every service's).
func (tx *Tx) Instances(serviceARN string) ([]Instance, error) {
	q := `SELECT id, service_arn, operation_id, role, runtime, created_at FROM instances`
	var args []any
	if serviceARN != "" {
		q += ` WHERE service_arn = ?`
		args = append(args, serviceARN)
	}
	rows, err := tx.q.QueryContext(tx.ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		var (
			in      Instance
			rt      string
			created int64
		)
		if err := rows.Scan(&in.ID, &in.ServiceARN, &in.OperationID, &in.Role, &rt, &created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(rt), &in.Runtime); err != nil {
			return nil, fmt.Errorf("instance %s: %w", in.ID, err)
		}
		in.CreatedAt = fromNanos(created)
		out = append(out, in)
	}
	return out, rows.Err()
}

// PutInstance inserts or replaces an instance.
func (tx *Tx) PutInstance(in Instance) error {
	rt, err := toJSON(in.Runtime)
	if err != nil {
		return err
	}
	return tx.exec(`INSERT INTO instances (id, service_arn, operation_id, role, runtime, created_at)
		VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET role=excluded.role, runtime=excluded.runtime`,
		in.ID, in.ServiceARN, in.OperationID, in.Role, rt, toNanos(in.CreatedAt))
}

// DeleteInstance forgets an instance.
func (tx *Tx) DeleteInstance(id string) error {
	return tx.exec(`DELETE FROM instances WHERE id = ?`, id)
}
