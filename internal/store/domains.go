package store

import (
	"database/sql"
	"errors"
	"time"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
)

// Custom domain association statuses. App Runner sends them in lower case,
// though its model's enum is upper case, and clients match what it sends.
const (
	DomainCreating           = "creating"
	DomainPendingValidation  = "pending_certificate_dns_validation"
	DomainBindingCertificate = "binding_certificate"
	DomainActive             = "active"
	DomainCreateFailed       = "create_failed"
	DomainDeleting           = "deleting"
	DomainDeleteFailed       = "delete_failed"
)

// Certificate validation statuses of a custom domain, upper case as the
// model has them.
const (
	CertPendingValidation = ar.CertificateValidationRecordStatusPendingValidation
	CertSuccess           = ar.CertificateValidationRecordStatusSuccess
	CertFailed            = ar.CertificateValidationRecordStatusFailed
)

// CustomDomain is a domain name associated with a service (App Runner's
// custom domain association).
type CustomDomain struct {
	ServiceARN string
	Name       string // lower case, no trailing dot; unique across all services
	WWW        bool   // www.<Name> is served and certified too (EnableWWWSubdomain)
	// Status is App Runner's CustomDomainAssociationStatus in lower case, as
	// the real service sends it: one of the Domain* constants.
	Status string
	// Reason says, for people, why the domain failed or what it waits for.
	Reason string
	// CertStatus is the certificate validation records' status, upper case
	// as the model: one of the Cert* constants.
	CertStatus           string
	CreatedAt, UpdatedAt time.Time
}

const customDomainColumns = `name, service_arn, www, status, reason, cert_status, created_at, updated_at`

func scanCustomDomain(row scanner) (CustomDomain, error) {
	var (
		d                CustomDomain
		created, updated int64
	)
	err := row.Scan(&d.Name, &d.ServiceARN, &d.WWW, &d.Status, &d.Reason, &d.CertStatus, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	d.CreatedAt, d.UpdatedAt = fromNanos(created), fromNanos(updated)
	return d, err
}

// CustomDomains lists the custom domains of a service, or ("") of all
// services, ordered by service ARN, association time and name.
func (tx *Tx) CustomDomains(serviceARN string) ([]CustomDomain, error) {
	return queryAll(tx, scanCustomDomain, `SELECT `+customDomainColumns+` FROM custom_domains
		WHERE ?1 = '' OR service_arn = ?1 ORDER BY service_arn, created_at, name`, serviceARN)
}

// CustomDomain returns a custom domain by name.
func (tx *Tx) CustomDomain(name string) (CustomDomain, error) {
	return scanCustomDomain(tx.q.QueryRowContext(tx.ctx,
		`SELECT `+customDomainColumns+` FROM custom_domains WHERE name = ?`, name))
}

// PutCustomDomain inserts a custom domain or updates the one of that name;
// an update keeps the stored CreatedAt, which orders a service's domains.
func (tx *Tx) PutCustomDomain(d CustomDomain) error {
	return tx.exec(`INSERT INTO custom_domains (`+customDomainColumns+`) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT(name) DO UPDATE SET service_arn=excluded.service_arn, www=excluded.www,
		status=excluded.status, reason=excluded.reason, cert_status=excluded.cert_status,
		updated_at=excluded.updated_at`,
		d.Name, d.ServiceARN, d.WWW, d.Status, d.Reason, d.CertStatus, toNanos(d.CreatedAt), toNanos(d.UpdatedAt))
}

// DeleteCustomDomain forgets a custom domain; deleting one that does not
// exist is not an error.
func (tx *Tx) DeleteCustomDomain(name string) error {
	return tx.exec(`DELETE FROM custom_domains WHERE name = ?`, name)
}
