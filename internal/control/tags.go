package control

import (
	"context"
	"errors"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// taggable checks that arn names a live resource Slipway keeps. Resources
// that were deleted but are still described (inactive revisions, deleted
// connections) answer InvalidStateException.
func taggable(tx *store.Tx, arn string) error {
	notFound := ar.NotFound("Resource not found: %s", arn)
	a, err := ar.ParseARN(arn)
	if err != nil {
		return notFound
	}
	var (
		what, status string
		live         bool
	)
	switch a.ResourceType() {
	case ar.ResourceService:
		_, err := service(tx, arn)
		return err
	case ar.ResourceAutoScalingConfiguration:
		r, e := tx.AutoScalingConfiguration(arn)
		what, status, live, err = "auto scaling configuration", r.Status, r.Status == store.ASCActive, e
	case ar.ResourceObservabilityConfiguration:
		r, e := tx.ObservabilityConfiguration(arn)
		what, status, live, err = "observability configuration", r.Status, r.Status == ar.ObservabilityConfigurationStatusActive, e
	case ar.ResourceConnection:
		r, e := tx.Connection(arn)
		what, status, live, err = "connection", r.Status, r.Status != ar.ConnectionStatusDeleted, e
	case ar.ResourceVpcConnector:
		r, e := tx.VpcConnector(arn)
		what, status, live, err = "VPC connector", r.Status, r.Status == ar.VpcConnectorStatusActive, e
	case ar.ResourceVpcIngressConnection:
		r, e := tx.VpcIngressConnection(arn)
		what, status, live, err = "VPC ingress connection", r.Status, r.Status != ar.VpcIngressConnectionStatusDeleted, e
	default:
		return notFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	if err == nil && !live {
		return ar.InvalidState("%s %s is %s", what, arn, status)
	}
	return err
}

// TagResource adds or replaces tags.
func (c *Control) TagResource(ctx context.Context, in *ar.TagResourceRequest) (*ar.TagResourceResponse, error) {
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		if err := taggable(tx, in.ResourceArn); err != nil {
			return err
		}
		if err := putTags(tx, in.ResourceArn, in.Tags); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ar.TagResourceResponse{}, nil
}

// UntagResource removes tags by key.
func (c *Control) UntagResource(ctx context.Context, in *ar.UntagResourceRequest) (*ar.UntagResourceResponse, error) {
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		if err := taggable(tx, in.ResourceArn); err != nil {
			return err
		}
		for _, k := range in.TagKeys {
			if err := tx.DeleteTag(in.ResourceArn, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ar.UntagResourceResponse{}, nil
}

// ListTagsForResource lists a resource's tags.
func (c *Control) ListTagsForResource(ctx context.Context, in *ar.ListTagsForResourceRequest) (*ar.ListTagsForResourceResponse, error) {
	var tags []store.Tag
	err := c.store.View(ctx, func(tx *store.Tx) error {
		if err := taggable(tx, in.ResourceArn); err != nil {
			return err
		}
		var err error
		tags, err = tx.Tags(in.ResourceArn)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &ar.ListTagsForResourceResponse{Tags: []ar.Tag{}}
	for _, t := range tags {
		out.Tags = append(out.Tags, ar.Tag{Key: ptr(t.Key), Value: ptr(t.Value)})
	}
	return out, nil
}

// putTags sets tags on a resource inside tx.
func putTags(tx *store.Tx, arn string, tags []ar.Tag) error {
	for _, t := range tags {
		if err := tx.PutTag(arn, store.Tag{Key: deref(t.Key), Value: deref(t.Value)}); err != nil {
			return err
		}
	}
	return nil
}
