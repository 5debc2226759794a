package store

import (
	"database/sql"
	"encoding/json"
	"errors"
)

// Build returns a finished build by key.
func (tx *Tx) Build(key string) (Build, error) {
	var (
		b        Build
		artifact string
		created  int64
	)
	err := tx.q.QueryRowContext(tx.ctx, `SELECT key, service_arn, revision, artifact, created_at FROM builds WHERE key = ?`, key).
		Scan(&b.Key, &b.ServiceARN, &b.Revision, &artifact, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	if err != nil {
		return b, err
	}
	b.CreatedAt = fromNanos(created)
	return b, json.Unmarshal([]byte(artifact), &b.Artifact)
}

// Builds lists a service's builds, oldest first.
func (tx *Tx) Builds(serviceARN string) ([]Build, error) {
	rows, err := tx.q.QueryContext(tx.ctx, `SELECT key, service_arn, revision, artifact, created_at FROM builds
		WHERE service_arn = ? ORDER BY created_at`, serviceARN)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Build
	for rows.Next() {
		var (
			b        Build
			artifact string
			created  int64
		)
		if err := rows.Scan(&b.Key, &b.ServiceARN, &b.Revision, &artifact, &created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(artifact), &b.Artifact); err != nil {
			return nil, err
		}
		b.CreatedAt = fromNanos(created)
		out = append(out, b)
	}
	return out, rows.Err()
}

// PutBuild records a finished build.
func (tx *Tx) PutBuild(b Build) error {
	artifact, err := toJSON(b.Artifact)
	if err != nil {
		return err
	}
	return tx.exec(`INSERT INTO builds (key, service_arn, revision, artifact, created_at) VALUES (?,?,?,?,?)
		ON CONFLICT(key) DO UPDATE SET artifact=excluded.artifact`,
		b.Key, b.ServiceARN, b.Revision, artifact, toNanos(b.CreatedAt))
}

// DeleteBuild forgets a build.
func (tx *Tx) DeleteBuild(key string) error {
	return tx.exec(`DELETE FROM builds WHERE key = ?`, key)
}

// Meta returns a stored setting, or "" when unset.
func (tx *Tx) Meta(key string) (string, error) {
	var v string
	err := tx.q.QueryRowContext(tx.ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// PutMeta stores a setting.
func (tx *Tx) PutMeta(key, value string) error {
	return tx.exec(`INSERT INTO meta (key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value`, key, value)
}
