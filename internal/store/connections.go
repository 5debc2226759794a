package store

import (
	"database/sql"
	"errors"
	"time"
)

// Connection is an App Runner connection to a source code provider.
type Connection struct {
	ARN          string
	Name         string
	ProviderType string
	Status       string
	CreatedAt    time.Time
}

const connectionColumns = `arn, name, provider_type, status, created_at`

func scanConnection(row scanner) (Connection, error) {
	var (
		c       Connection
		created int64
	)
	err := row.Scan(&c.ARN, &c.Name, &c.ProviderType, &c.Status, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	c.CreatedAt = fromNanos(created)
	return c, err
}

// Connection returns a connection by ARN, deleted or not.
func (tx *Tx) Connection(arn string) (Connection, error) {
	return scanConnection(tx.q.QueryRowContext(tx.ctx,
		`SELECT `+connectionColumns+` FROM connections WHERE arn = ?`, arn))
}

// Connections lists connections, deleted ones too, ordered by name and
// creation. name "" lists all names.
func (tx *Tx) Connections(name string) ([]Connection, error) {
	return queryAll(tx, scanConnection, `SELECT `+connectionColumns+` FROM connections
		WHERE ?1 = '' OR name = ?1 ORDER BY name, created_at, arn`, name)
}

// PutConnection inserts or replaces a connection.
func (tx *Tx) PutConnection(c Connection) error {
	return tx.exec(`INSERT INTO connections (`+connectionColumns+`) VALUES (?,?,?,?,?)
		ON CONFLICT(arn) DO UPDATE SET status=excluded.status`,
		c.ARN, c.Name, c.ProviderType, c.Status, toNanos(c.CreatedAt))
}
