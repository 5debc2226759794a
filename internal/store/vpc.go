package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// VpcConnector is one revision of a VPC connector.
type VpcConnector struct {
	ARN            string
	Name           string
	Revision       int64
	Status         string
	Subnets        []string
	SecurityGroups []string
	CreatedAt      time.Time
	DeletedAt      time.Time
}

const vpcConnectorColumns = `arn, name, revision, status, subnets, security_groups, created_at, deleted_at`

func scanVpcConnector(row scanner) (VpcConnector, error) {
	var (
		v                VpcConnector
		subnets, groups  string
		created, deleted int64
	)
	err := row.Scan(&v.ARN, &v.Name, &v.Revision, &v.Status, &subnets, &groups, &created, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, err
	}
	v.CreatedAt, v.DeletedAt = fromNanos(created), fromNanos(deleted)
	if err := json.Unmarshal([]byte(subnets), &v.Subnets); err != nil {
		return v, fmt.Errorf("vpc connector %s subnets: %w", v.ARN, err)
	}
	if err := json.Unmarshal([]byte(groups), &v.SecurityGroups); err != nil {
		return v, fmt.Errorf("vpc connector %s security groups: %w", v.ARN, err)
	}
	return v, nil
}

// VpcConnector returns one revision by ARN.
func (tx *Tx) VpcConnector(arn string) (VpcConnector, error) {
	return scanVpcConnector(tx.q.QueryRowContext(tx.ctx,
		`SELECT `+vpcConnectorColumns+` FROM vpc_connectors WHERE arn = ?`, arn))
}

// VpcConnectors lists revisions ordered by name and revision. name ""
// lists all names.
func (tx *Tx) VpcConnectors(name string) ([]VpcConnector, error) {
	return queryAll(tx, scanVpcConnector, `SELECT `+vpcConnectorColumns+` FROM vpc_connectors
		WHERE ?1 = '' OR name = ?1 ORDER BY name, revision, created_at`, name)
}

// PutVpcConnector inserts or replaces a revision.
func (tx *Tx) PutVpcConnector(v VpcConnector) error {
	subnets, err := toJSON(nonNil(v.Subnets))
	if err != nil {
		return err
	}
	groups, err := toJSON(nonNil(v.SecurityGroups))
	if err != nil {
		return err
	}
	return tx.exec(`INSERT INTO vpc_connectors (`+vpcConnectorColumns+`) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT(arn) DO UPDATE SET status=excluded.status, deleted_at=excluded.deleted_at`,
		v.ARN, v.Name, v.Revision, v.Status, subnets, groups, toNanos(v.CreatedAt), toNanos(v.DeletedAt))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// VpcIngressConnection connects a service to a VPC endpoint.
type VpcIngressConnection struct {
	ARN           string
	Name          string
	ServiceARN    string
	Status        string
	DomainName    string
	VpcID         string
	VpcEndpointID string
	CreatedAt     time.Time
	DeletedAt     time.Time
}

const vpcIngressColumns = `arn, name, service_arn, status, domain_name, vpc_id, vpc_endpoint_id, created_at, deleted_at`

func scanVpcIngress(row scanner) (VpcIngressConnection, error) {
	var (
		v                VpcIngressConnection
		created, deleted int64
	)
	err := row.Scan(&v.ARN, &v.Name, &v.ServiceARN, &v.Status, &v.DomainName, &v.VpcID, &v.VpcEndpointID, &created, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	v.CreatedAt, v.DeletedAt = fromNanos(created), fromNanos(deleted)
	return v, err
}

// VpcIngressConnection returns one by ARN, deleted or not.
func (tx *Tx) VpcIngressConnection(arn string) (VpcIngressConnection, error) {
	return scanVpcIngress(tx.q.QueryRowContext(tx.ctx,
		`SELECT `+vpcIngressColumns+` FROM vpc_ingress_connections WHERE arn = ?`, arn))
}

// VpcIngressConnections lists VPC ingress connections, deleted ones too, in
// creation order. serviceARN "" lists those of every service.
func (tx *Tx) VpcIngressConnections(serviceARN string) ([]VpcIngressConnection, error) {
	return queryAll(tx, scanVpcIngress, `SELECT `+vpcIngressColumns+` FROM vpc_ingress_connections
		WHERE ?1 = '' OR service_arn = ?1 ORDER BY created_at, arn`, serviceARN)
}

// PutVpcIngressConnection inserts or replaces a VPC ingress connection.
func (tx *Tx) PutVpcIngressConnection(v VpcIngressConnection) error {
	return tx.exec(`INSERT INTO vpc_ingress_connections (`+vpcIngressColumns+`) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT(arn) DO UPDATE SET status=excluded.status, vpc_id=excluded.vpc_id,
		vpc_endpoint_id=excluded.vpc_endpoint_id, deleted_at=excluded.deleted_at`,
		v.ARN, v.Name, v.ServiceARN, v.Status, v.DomainName, v.VpcID, v.VpcEndpointID, toNanos(v.CreatedAt), toNanos(v.DeletedAt))
}
