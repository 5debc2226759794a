package control

import (
	"context"
	"errors"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// taggable checks that arn names a live resource Slipway keeps.
func taggable(tx *store.Tx, arn string) error {
	switch {
	case strings.Contains(arn, ":service/"):
		_, err := service(tx, arn)
		return err
	case strings.Contains(arn, ":"+ascResourcePrefix):
		a, err := tx.AutoScalingConfiguration(arn)
		if errors.Is(err, store.ErrNotFound) {
			return ar.NotFound("Resource not found: %s", arn)
		}
		if err == nil && a.Status != ar.AutoScalingConfigurationStatusActive {
			return ar.InvalidState("auto scaling configuration %s is %s", arn, a.Status)
		}
		return err
	}
	return ar.NotFound("Resource not found: %s", arn)
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
