package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

const serviceColumns = `arn, id, name, status, host, created_at, updated_at, deleted_at, config, release`

type scanner interface{ Scan(dest ...any) error }

func scanService(row scanner) (Service, error) {
	var (
		s                         Service
		created, updated, deleted int64
		config                    string
		release                   sql.NullString
	)
	err := row.Scan(&s.ARN, &s.ID, &s.Name, &s.Status, &s.Host, &created, &updated, &deleted, &config, &release)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, err
	}
	s.CreatedAt, s.UpdatedAt, s.DeletedAt = fromNanos(created), fromNanos(updated), fromNanos(deleted)
	if err := json.Unmarshal([]byte(config), &s.Config); err != nil {
		return s, fmt.Errorf("service %s config: %w", s.ARN, err)
	}
	if release.Valid {
		s.Release = new(Release)
		if err := json.Unmarshal([]byte(release.String), s.Release); err != nil {
			return s, fmt.Errorf("service %s release: %w", s.ARN, err)
		}
	}
	return s, nil
}

// Service returns the service with this ARN, deleted or not.
func (tx *Tx) Service(arn string) (Service, error) {
	return scanService(tx.q.QueryRowContext(tx.ctx, `SELECT `+serviceColumns+` FROM services WHERE arn = ?`, arn))
}

// ServiceByName returns the live (not deleted) service with this name.
func (tx *Tx) ServiceByName(name string) (Service, error) {
	return scanService(tx.q.QueryRowContext(tx.ctx,
		`SELECT `+serviceColumns+` FROM services WHERE name = ? AND deleted_at = 0`, name))
}

// ServiceByHost returns the live service served at host.
func (tx *Tx) ServiceByHost(host string) (Service, error) {
	return scanService(tx.q.QueryRowContext(tx.ctx,
		`SELECT `+serviceColumns+` FROM services WHERE host = ? AND deleted_at = 0`, host))
}

// Services lists services in creation order. Deleted ones are included only
// when withDeleted is set.
func (tx *Tx) Services(withDeleted bool) ([]Service, error) {
	q := `SELECT ` + serviceColumns + ` FROM services`
	if !withDeleted {
		q += ` WHERE deleted_at = 0`
	}
	rows, err := tx.q.QueryContext(tx.ctx, q+` ORDER BY created_at, arn`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Service
	for rows.Next() {
		s, err := scanService(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CountLiveServices counts services that are not deleted.
func (tx *Tx) CountLiveServices() (int, error) {
	var n int
	err := tx.q.QueryRowContext(tx.ctx, `SELECT count(*) FROM services WHERE deleted_at = 0`).Scan(&n)
	return n, err
}

// PutService inserts or replaces a service.
func (tx *Tx) PutService(s Service) error {
	config, err := toJSON(s.Config)
	if err != nil {
		return err
	}
	release, err := nullJSON(s.Release, s.Release == nil)
	if err != nil {
		return err
	}
	return tx.exec(`INSERT INTO services (`+serviceColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(arn) DO UPDATE SET name=excluded.name, status=excluded.status, host=excluded.host,
		updated_at=excluded.updated_at, deleted_at=excluded.deleted_at, config=excluded.config, release=excluded.release`,
		s.ARN, s.ID, s.Name, s.Status, s.Host, toNanos(s.CreatedAt), toNanos(s.UpdatedAt), toNanos(s.DeletedAt), config, release)
}
