package store

import (
	"database/sql"
	"errors"
	"time"
)

// ObservabilityConfiguration is one revision of an observability
// configuration.
type ObservabilityConfiguration struct {
	ARN      string
	Name     string
	Revision int64
	Latest   bool
	Status   string
	// TraceVendor is the tracing vendor, "" when tracing is off.
	TraceVendor string
	CreatedAt   time.Time
	DeletedAt   time.Time
}

const observabilityColumns = `arn, name, revision, latest, status, trace_vendor, created_at, deleted_at`

func scanObservability(row scanner) (ObservabilityConfiguration, error) {
	var (
		o                ObservabilityConfiguration
		latest           int
		created, deleted int64
	)
	err := row.Scan(&o.ARN, &o.Name, &o.Revision, &latest, &o.Status, &o.TraceVendor, &created, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return o, ErrNotFound
	}
	o.Latest = latest != 0
	o.CreatedAt, o.DeletedAt = fromNanos(created), fromNanos(deleted)
	return o, err
}

// ObservabilityConfiguration returns one revision by ARN.
func (tx *Tx) ObservabilityConfiguration(arn string) (ObservabilityConfiguration, error) {
	return scanObservability(tx.q.QueryRowContext(tx.ctx,
		`SELECT `+observabilityColumns+` FROM observability_configurations WHERE arn = ?`, arn))
}

// ObservabilityConfigurations lists revisions ordered by name and
// revision. name "" lists all names.
func (tx *Tx) ObservabilityConfigurations(name string) ([]ObservabilityConfiguration, error) {
	return queryAll(tx, scanObservability, `SELECT `+observabilityColumns+` FROM observability_configurations
		WHERE ?1 = '' OR name = ?1 ORDER BY name, revision`, name)
}

// PutObservabilityConfiguration inserts or replaces a revision.
func (tx *Tx) PutObservabilityConfiguration(o ObservabilityConfiguration) error {
	return tx.exec(`INSERT INTO observability_configurations (`+observabilityColumns+`) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT(arn) DO UPDATE SET latest=excluded.latest, status=excluded.status, deleted_at=excluded.deleted_at`,
		o.ARN, o.Name, o.Revision, boolInt(o.Latest), o.Status, o.TraceVendor, toNanos(o.CreatedAt), toNanos(o.DeletedAt))
}
