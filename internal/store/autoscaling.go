package store

import (
	"database/sql"
	"errors"
)

// Auto scaling configuration statuses. App Runner sends them in lower case,
// though its model's enum is upper case, and clients (Terraform's waiters)
// match what it sends.
const (
	ASCActive   = "active"
	ASCInactive = "inactive"
)

const ascColumns = `arn, name, revision, latest, status, max_concurrency, min_size, max_size, created_at, deleted_at, is_default`

func scanASC(row scanner) (AutoScalingConfiguration, error) {
	var (
		a                 AutoScalingConfiguration
		latest, isDefault int
		created, deleted  int64
	)
	err := row.Scan(&a.ARN, &a.Name, &a.Revision, &latest, &a.Status, &a.MaxConcurrency, &a.MinSize, &a.MaxSize,
		&created, &deleted, &isDefault)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	a.Latest, a.IsDefault = latest != 0, isDefault != 0
	a.CreatedAt, a.DeletedAt = fromNanos(created), fromNanos(deleted)
	return a, err
}

// AutoScalingConfiguration returns one revision by ARN.
func (tx *Tx) AutoScalingConfiguration(arn string) (AutoScalingConfiguration, error) {
	return scanASC(tx.q.QueryRowContext(tx.ctx,
		`SELECT `+ascColumns+` FROM autoscaling_configurations WHERE arn = ?`, arn))
}

// AutoScalingConfigurations lists revisions ordered by name and revision.
// name "" lists all names.
func (tx *Tx) AutoScalingConfigurations(name string) ([]AutoScalingConfiguration, error) {
	q := `SELECT ` + ascColumns + ` FROM autoscaling_configurations`
	var args []any
	if name != "" {
		q += ` WHERE name = ?`
		args = append(args, name)
	}
	rows, err := tx.q.QueryContext(tx.ctx, q+` ORDER BY name, revision`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AutoScalingConfiguration
	for rows.Next() {
		a, err := scanASC(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PutAutoScalingConfiguration inserts or replaces a revision.
func (tx *Tx) PutAutoScalingConfiguration(a AutoScalingConfiguration) error {
	return tx.exec(`INSERT INTO autoscaling_configurations (`+ascColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(arn) DO UPDATE SET latest=excluded.latest, status=excluded.status,
		deleted_at=excluded.deleted_at, is_default=excluded.is_default`,
		a.ARN, a.Name, a.Revision, boolInt(a.Latest), a.Status, a.MaxConcurrency, a.MinSize, a.MaxSize,
		toNanos(a.CreatedAt), toNanos(a.DeletedAt), boolInt(a.IsDefault))
}

// ServicesUsingAutoScaling lists live services associated with arn.
func (tx *Tx) ServicesUsingAutoScaling(arn string) ([]string, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `SELECT arn FROM services WHERE deleted_at = 0
		AND json_extract(config, '$.autoScalingConfigurationArn') = ? ORDER BY created_at, arn`, arn)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
