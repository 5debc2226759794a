package control

import (
	"context"
	"errors"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// maxConnections is App Runner's quota of connections per account and
// region.
const maxConnections = 10

func connectionDescription(c store.Connection) ar.Connection {
	return ar.Connection{
		ConnectionName: ptr(c.Name),
		ConnectionArn:  ptr(c.ARN),
		ProviderType:   ptr(c.ProviderType),
		Status:         ptr(c.Status),
		CreatedAt:      timePtr(c.CreatedAt),
	}
}

// liveConnections lists the connections not deleted, of one name or ("")
// of all.
func liveConnections(tx *store.Tx, name string) ([]store.Connection, error) {
	all, err := tx.Connections(name)
	var live []store.Connection
	for _, c := range all {
		if c.Status != ar.ConnectionStatusDeleted {
			live = append(live, c)
		}
	}
	return live, err
}

// CreateConnection records a connection to a source code provider.
//
// App Runner's connections wait in PENDING_HANDSHAKE until someone installs
// its GitHub (or Bitbucket) App in the console. Slipway has no such
// handshake: it fetches any URL git can, with the credentials git finds, so
// a connection is bookkeeping for clients (Terraform, scripts) that create
// one before their services, and it is AVAILABLE at once.
func (c *Control) CreateConnection(ctx context.Context, in *ar.CreateConnectionRequest) (*ar.CreateConnectionResponse, error) {
	var out ar.Connection
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		live, err := liveConnections(tx, "")
		if err != nil {
			return err
		}
		for _, l := range live {
			if l.Name == in.ConnectionName {
				return ar.InvalidRequest("Connection with the provided name already exists: %s", in.ConnectionName)
			}
		}
		if len(live) >= maxConnections {
			return ar.QuotaExceeded("you can have at most %d connections", maxConnections)
		}
		conn := store.Connection{
			ARN:          ar.ConnectionARN(c.cfg.Region, c.cfg.Account, in.ConnectionName, ar.NewID()),
			Name:         in.ConnectionName,
			ProviderType: in.ProviderType,
			Status:       ar.ConnectionStatusAvailable,
			CreatedAt:    c.now(),
		}
		if err := tx.PutConnection(conn); err != nil {
			return err
		}
		out = connectionDescription(conn)
		return putTags(tx, conn.ARN, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &ar.CreateConnectionResponse{Connection: &out}, nil
}

// ListConnections lists the connections not deleted, by name.
func (c *Control) ListConnections(ctx context.Context, in *ar.ListConnectionsRequest) (*ar.ListConnectionsResponse, error) {
	var live []store.Connection
	err := c.store.View(ctx, func(tx *store.Tx) (err error) {
		live, err = liveConnections(tx, deref(in.ConnectionName))
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(live, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ar.ListConnectionsResponse{ConnectionSummaryList: []ar.ConnectionSummary{}, NextToken: next}
	for _, conn := range page {
		out.ConnectionSummaryList = append(out.ConnectionSummaryList, ar.ConnectionSummary(connectionDescription(conn)))
	}
	return out, nil
}

// resolveServiceConnection checks that the connection a source names
// exists and is not deleted.
func resolveServiceConnection(tx *store.Tx, src *ar.SourceConfiguration) error {
	if src == nil || src.AuthenticationConfiguration == nil || deref(src.AuthenticationConfiguration.ConnectionArn) == "" {
		return nil
	}
	arn := *src.AuthenticationConfiguration.ConnectionArn
	conn, err := tx.Connection(arn)
	if errors.Is(err, store.ErrNotFound) || (err == nil && conn.Status == ar.ConnectionStatusDeleted) {
		return ar.InvalidRequest("ConnectionArn: Connection not found: %s", arn)
	}
	return err
}

// DeleteConnection deletes a connection no service uses.
func (c *Control) DeleteConnection(ctx context.Context, in *ar.DeleteConnectionRequest) (*ar.DeleteConnectionResponse, error) {
	var out ar.Connection
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		conn, err := tx.Connection(in.ConnectionArn)
		if errors.Is(err, store.ErrNotFound) || (err == nil && conn.Status == ar.ConnectionStatusDeleted) {
			return ar.NotFound("Connection not found: %s", in.ConnectionArn)
		}
		if err != nil {
			return err
		}
		if err := refuseInUse(tx, store.PathConnection, conn.ARN, "connection "+conn.Name); err != nil {
			return err
		}
		conn.Status = ar.ConnectionStatusDeleted
		if err := tx.PutConnection(conn); err != nil {
			return err
		}
		out = connectionDescription(conn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ar.DeleteConnectionResponse{Connection: &out}, nil
}

// refuseInUse fails with InvalidRequestException when a live service refers
// to arn at path: App Runner does not delete what services use.
func refuseInUse(tx *store.Tx, path, arn, what string) error {
	users, err := tx.ServicesUsing(path, arn)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return ar.InvalidRequest("%s is used by %d service(s), e.g. %s; update or delete them first", what, len(users), users[0])
	}
	return nil
}
