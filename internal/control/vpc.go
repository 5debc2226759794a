package control

import (
	"context"
	"errors"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// maxVpcConnectors is App Runner's quota of active VPC connectors per
// account and region.
const maxVpcConnectors = 10

func vpcConnectorDescription(v store.VpcConnector) ar.VpcConnector {
	return ar.VpcConnector{
		VpcConnectorName:     ptr(v.Name),
		VpcConnectorArn:      ptr(v.ARN),
		VpcConnectorRevision: v.Revision,
		Subnets:              v.Subnets,
		SecurityGroups:       v.SecurityGroups,
		Status:               ptr(v.Status),
		CreatedAt:            timePtr(v.CreatedAt),
		DeletedAt:            timePtr(v.DeletedAt),
	}
}

// findVpcConnector loads a connector by its full ARN, the only form App
// Runner accepts.
func findVpcConnector(tx *store.Tx, arn string) (store.VpcConnector, error) {
	v, err := tx.VpcConnector(arn)
	if errors.Is(err, store.ErrNotFound) {
		return v, ar.NotFound("VPC connector not found: %s", arn)
	}
	return v, err
}

// resolveServiceVpcConnector checks that the VPC connector a service's
// egress names exists and is active.
func resolveServiceVpcConnector(tx *store.Tx, n *ar.NetworkConfiguration) error {
	if n == nil || n.EgressConfiguration == nil || deref(n.EgressConfiguration.VpcConnectorArn) == "" {
		return nil
	}
	arn := *n.EgressConfiguration.VpcConnectorArn
	v, err := findVpcConnector(tx, arn)
	var ae *ar.Error
	if errors.As(err, &ae) {
		return ar.InvalidRequest("VpcConnectorArn: %s", ae.Message)
	}
	if err != nil {
		return err
	}
	if v.Status != ar.VpcConnectorStatusActive {
		return ar.InvalidRequest("VpcConnectorArn: %s is %s", arn, v.Status)
	}
	return nil
}

// CreateVpcConnector creates a VPC connector. App Runner supports one
// revision per name: a name is free again once its connector is deleted.
//
// Slipway runs apps on this machine's network, so a VPC connector changes
// nothing about how they reach the outside: it is kept, checked and shown
// for clients that configure VPC egress.
func (c *Control) CreateVpcConnector(ctx context.Context, in *ar.CreateVpcConnectorRequest) (*ar.CreateVpcConnectorResponse, error) {
	if len(in.Subnets) == 0 {
		return nil, ar.InvalidRequest("Subnets must list at least one subnet")
	}
	var out ar.VpcConnector
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		all, err := tx.VpcConnectors("")
		if err != nil {
			return err
		}
		active := 0
		for _, v := range all {
			if v.Status != ar.VpcConnectorStatusActive {
				continue
			}
			if v.Name == in.VpcConnectorName {
				return ar.InvalidRequest("VPC connector with the provided name already exists: %s", in.VpcConnectorName)
			}
			active++
		}
		if active >= maxVpcConnectors {
			return ar.QuotaExceeded("you can have at most %d VPC connectors", maxVpcConnectors)
		}
		const revision = 1
		v := store.VpcConnector{
			ARN:            ar.VpcConnectorARN(c.cfg.Region, c.cfg.Account, in.VpcConnectorName, revision, ar.NewID()),
			Name:           in.VpcConnectorName,
			Revision:       revision,
			Status:         ar.VpcConnectorStatusActive,
			Subnets:        in.Subnets,
			SecurityGroups: in.SecurityGroups,
			CreatedAt:      c.now(),
		}
		if err := tx.PutVpcConnector(v); err != nil {
			return err
		}
		out = vpcConnectorDescription(v)
		return putTags(tx, v.ARN, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &ar.CreateVpcConnectorResponse{VpcConnector: &out}, nil
}

// DescribeVpcConnector describes a connector, inactive ones included.
func (c *Control) DescribeVpcConnector(ctx context.Context, in *ar.DescribeVpcConnectorRequest) (*ar.DescribeVpcConnectorResponse, error) {
	var out ar.VpcConnector
	err := c.store.View(ctx, func(tx *store.Tx) error {
		v, err := findVpcConnector(tx, in.VpcConnectorArn)
		out = vpcConnectorDescription(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ar.DescribeVpcConnectorResponse{VpcConnector: &out}, nil
}

// ListVpcConnectors lists active connectors by name.
func (c *Control) ListVpcConnectors(ctx context.Context, in *ar.ListVpcConnectorsRequest) (*ar.ListVpcConnectorsResponse, error) {
	var active []ar.VpcConnector
	err := c.store.View(ctx, func(tx *store.Tx) error {
		all, err := tx.VpcConnectors("")
		for _, v := range all {
			if v.Status == ar.VpcConnectorStatusActive {
				active = append(active, vpcConnectorDescription(v))
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(active, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ar.ListVpcConnectorsResponse{VpcConnectors: page, NextToken: next}, nil
}

// DeleteVpcConnector makes a connector no service uses inactive.
func (c *Control) DeleteVpcConnector(ctx context.Context, in *ar.DeleteVpcConnectorRequest) (*ar.DeleteVpcConnectorResponse, error) {
	var out ar.VpcConnector
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		v, err := findVpcConnector(tx, in.VpcConnectorArn)
		if err != nil {
			return err
		}
		if v.Status != ar.VpcConnectorStatusActive {
			return ar.NotFound("VPC connector not found: %s (it is %s)", in.VpcConnectorArn, v.Status)
		}
		if err := refuseInUse(tx, store.PathVpcConnector, v.ARN, "VPC connector "+v.Name); err != nil {
			return err
		}
		v.Status, v.DeletedAt = ar.VpcConnectorStatusInactive, c.now()
		if err := tx.PutVpcConnector(v); err != nil {
			return err
		}
		out = vpcConnectorDescription(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ar.DeleteVpcConnectorResponse{VpcConnector: &out}, nil
}
