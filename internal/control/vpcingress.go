package control

import (
	"context"
	"errors"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// maxVpcIngressConnections is the quota of VPC ingress connections not
// deleted, per account and region.
const maxVpcIngressConnections = 10

func (c *Control) vpcIngressDescription(v store.VpcIngressConnection) ar.VpcIngressConnection {
	return ar.VpcIngressConnection{
		VpcIngressConnectionArn:  ptr(v.ARN),
		VpcIngressConnectionName: ptr(v.Name),
		ServiceArn:               ptr(v.ServiceARN),
		Status:                   ptr(v.Status),
		AccountId:                ptr(c.cfg.Account),
		DomainName:               ptr(v.DomainName),
		IngressVpcConfiguration:  &ar.IngressVpcConfiguration{VpcId: ptr(v.VpcID), VpcEndpointId: ptr(v.VpcEndpointID)},
		CreatedAt:                timePtr(v.CreatedAt),
		DeletedAt:                timePtr(v.DeletedAt),
	}
}

func checkIngressVpc(cfg *ar.IngressVpcConfiguration) error {
	if cfg == nil || deref(cfg.VpcId) == "" || deref(cfg.VpcEndpointId) == "" {
		return ar.InvalidRequest("IngressVpcConfiguration needs both VpcId and VpcEndpointId")
	}
	return nil
}

func findVpcIngress(tx *store.Tx, arn string) (store.VpcIngressConnection, error) {
	v, err := tx.VpcIngressConnection(arn)
	if errors.Is(err, store.ErrNotFound) {
		return v, ar.NotFound("VPC ingress connection not found: %s", arn)
	}
	return v, err
}

// vpcIngressChangeable reports whether App Runner lets a connection in
// status be changed (updated, or with del, deleted).
func vpcIngressChangeable(status string, del bool) bool {
	switch status {
	case ar.VpcIngressConnectionStatusAvailable, ar.VpcIngressConnectionStatusFailedCreation,
		ar.VpcIngressConnectionStatusFailedUpdate:
		return true
	case ar.VpcIngressConnectionStatusFailedDeletion:
		return del
	}
	return false
}

// CreateVpcIngressConnection connects a service to a VPC endpoint.
// Slipway's router serves every service on this machine already, so the
// connection is kept and shown, AVAILABLE at once, for clients that manage
// private services.
func (c *Control) CreateVpcIngressConnection(ctx context.Context, in *ar.CreateVpcIngressConnectionRequest) (*ar.CreateVpcIngressConnectionResponse, error) {
	if err := checkIngressVpc(in.IngressVpcConfiguration); err != nil {
		return nil, err
	}
	var out ar.VpcIngressConnection
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		// The model has no ResourceNotFoundException for this operation: a
		// service that does not exist is an invalid request.
		svc, err := service(tx, in.ServiceArn)
		var ae *ar.Error
		if errors.As(err, &ae) {
			return ar.InvalidRequest("ServiceArn: %s", ae.Message)
		}
		if err != nil {
			return err
		}
		if svc.Status == ar.ServiceStatusCreateFailed || svc.Status == ar.ServiceStatusDeleteFailed {
			return ar.InvalidState("service %s is %s", svc.Name, svc.Status)
		}
		all, err := tx.VpcIngressConnections("")
		if err != nil {
			return err
		}
		live := 0
		for _, v := range all {
			if v.Status == ar.VpcIngressConnectionStatusDeleted {
				continue
			}
			if v.Name == in.VpcIngressConnectionName {
				return ar.InvalidRequest("VPC ingress connection with the provided name already exists: %s", v.Name)
			}
			live++
		}
		if live >= maxVpcIngressConnections {
			return ar.QuotaExceeded("you can have at most %d VPC ingress connections", maxVpcIngressConnections)
		}
		v := store.VpcIngressConnection{
			ARN:           ar.VpcIngressConnectionARN(c.cfg.Region, c.cfg.Account, in.VpcIngressConnectionName, ar.NewID()),
			Name:          in.VpcIngressConnectionName,
			ServiceARN:    svc.ARN,
			Status:        ar.VpcIngressConnectionStatusAvailable,
			DomainName:    c.newHost(),
			VpcID:         *in.IngressVpcConfiguration.VpcId,
			VpcEndpointID: *in.IngressVpcConfiguration.VpcEndpointId,
			CreatedAt:     c.now(),
		}
		if err := tx.PutVpcIngressConnection(v); err != nil {
			return err
		}
		out = c.vpcIngressDescription(v)
		return putTags(tx, v.ARN, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &ar.CreateVpcIngressConnectionResponse{VpcIngressConnection: &out}, nil
}

// DescribeVpcIngressConnection describes a connection, deleted ones
// included.
func (c *Control) DescribeVpcIngressConnection(ctx context.Context, in *ar.DescribeVpcIngressConnectionRequest) (*ar.DescribeVpcIngressConnectionResponse, error) {
	var out ar.VpcIngressConnection
	err := c.store.View(ctx, func(tx *store.Tx) error {
		v, err := findVpcIngress(tx, in.VpcIngressConnectionArn)
		out = c.vpcIngressDescription(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ar.DescribeVpcIngressConnectionResponse{VpcIngressConnection: &out}, nil
}

// ListVpcIngressConnections lists the connections not deleted, in creation
// order, of one service or VPC endpoint when the filter says so.
func (c *Control) ListVpcIngressConnections(ctx context.Context, in *ar.ListVpcIngressConnectionsRequest) (*ar.ListVpcIngressConnectionsResponse, error) {
	f := deref(in.Filter)
	var sums []ar.VpcIngressConnectionSummary
	err := c.store.View(ctx, func(tx *store.Tx) error {
		all, err := tx.VpcIngressConnections(deref(f.ServiceArn))
		for _, v := range all {
			if v.Status == ar.VpcIngressConnectionStatusDeleted ||
				(deref(f.VpcEndpointId) != "" && v.VpcEndpointID != *f.VpcEndpointId) {
				continue
			}
			sums = append(sums, ar.VpcIngressConnectionSummary{VpcIngressConnectionArn: ptr(v.ARN), ServiceArn: ptr(v.ServiceARN)})
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(sums, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ar.ListVpcIngressConnectionsResponse{VpcIngressConnectionSummaryList: page, NextToken: next}, nil
}

// UpdateVpcIngressConnection changes the VPC and endpoint of a connection.
func (c *Control) UpdateVpcIngressConnection(ctx context.Context, in *ar.UpdateVpcIngressConnectionRequest) (*ar.UpdateVpcIngressConnectionResponse, error) {
	if err := checkIngressVpc(in.IngressVpcConfiguration); err != nil {
		return nil, err
	}
	var out ar.VpcIngressConnection
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		v, err := findVpcIngress(tx, in.VpcIngressConnectionArn)
		if err != nil {
			return err
		}
		if !vpcIngressChangeable(v.Status, false) {
			return ar.InvalidState("VPC ingress connection %s is %s; it can be updated only when AVAILABLE, FAILED_CREATION or FAILED_UPDATE",
				v.Name, v.Status)
		}
		v.VpcID, v.VpcEndpointID = *in.IngressVpcConfiguration.VpcId, *in.IngressVpcConfiguration.VpcEndpointId
		v.Status = ar.VpcIngressConnectionStatusAvailable
		if err := tx.PutVpcIngressConnection(v); err != nil {
			return err
		}
		out = c.vpcIngressDescription(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ar.UpdateVpcIngressConnectionResponse{VpcIngressConnection: &out}, nil
}

// DeleteVpcIngressConnection deletes a connection; it stays described, as
// DELETED.
func (c *Control) DeleteVpcIngressConnection(ctx context.Context, in *ar.DeleteVpcIngressConnectionRequest) (*ar.DeleteVpcIngressConnectionResponse, error) {
	var out ar.VpcIngressConnection
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		v, err := findVpcIngress(tx, in.VpcIngressConnectionArn)
		if err != nil {
			return err
		}
		if !vpcIngressChangeable(v.Status, true) {
			return ar.InvalidState("VPC ingress connection %s is %s; it can be deleted only when AVAILABLE or FAILED_*",
				v.Name, v.Status)
		}
		v.Status, v.DeletedAt = ar.VpcIngressConnectionStatusDeleted, c.now()
		if err := tx.PutVpcIngressConnection(v); err != nil {
			return err
		}
		out = c.vpcIngressDescription(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ar.DeleteVpcIngressConnectionResponse{VpcIngressConnection: &out}, nil
}

// refuseVpcIngress fails when a service still has VPC ingress connections:
// App Runner asks that they be deleted before the service.
func refuseVpcIngress(tx *store.Tx, svc store.Service) error {
	all, err := tx.VpcIngressConnections(svc.ARN)
	if err != nil {
		return err
	}
	for _, v := range all {
		if v.Status != ar.VpcIngressConnectionStatusDeleted {
			return ar.InvalidState("service %s still has VPC ingress connection %s; delete it first", svc.Name, v.ARN)
		}
	}
	return nil
}
