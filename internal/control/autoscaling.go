package control

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// Auto scaling configuration defaults and limits, as App Runner's.
const (
	DefaultASCName           = "DefaultConfiguration"
	defaultMaxConcurrency    = 100
	defaultMinSize           = 1
	defaultMaxSize           = 25
	maxASCRevisionsPerName   = 5
	maxASCNames              = 10
	ascResourcePrefix        = "autoscalingconfiguration/"
	ascResourceNameAndRevLen = 3
)

// EnsureDefaultAutoScaling creates DefaultConfiguration on first start.
func (c *Control) EnsureDefaultAutoScaling(ctx context.Context) error {
	return c.store.Update(ctx, func(tx *store.Tx) error {
		all, err := tx.AutoScalingConfigurations(DefaultASCName)
		if err != nil || len(all) > 0 {
			return err
		}
		return tx.PutAutoScalingConfiguration(c.newASC(DefaultASCName, 1, defaultMaxConcurrency, defaultMinSize, defaultMaxSize, true))
	})
}

func (c *Control) newASC(name string, rev, maxConc, min, max int64, isDefault bool) store.AutoScalingConfiguration {
	return store.AutoScalingConfiguration{
		ARN:            ar.AutoScalingConfigurationARN(c.cfg.Region, c.cfg.Account, name, int(rev), ar.NewID()),
		Name:           name,
		Revision:       rev,
		Latest:         true,
		Status:         store.ASCActive,
		MaxConcurrency: maxConc,
		MinSize:        min,
		MaxSize:        max,
		CreatedAt:      c.now(),
		IsDefault:      isDefault,
	}
}

// findASC resolves a full ARN, or a partial one ending in /name or
// /name/revision (App Runner accepts both and picks the latest active
// revision when there is none).
func findASC(tx *store.Tx, arn string) (store.AutoScalingConfiguration, error) {
	a, err := tx.AutoScalingConfiguration(arn)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return a, err
	}
	_, res, ok := strings.Cut(arn, ":"+ascResourcePrefix)
	if !ok {
		return a, ar.NotFound("Auto scaling configuration not found: %s", arn)
	}
	parts := strings.Split(res, "/")
	if len(parts) > 2 {
		return a, ar.NotFound("Auto scaling configuration not found: %s", arn)
	}
	revs, err := tx.AutoScalingConfigurations(parts[0])
	if err != nil {
		return a, err
	}
	for i := len(revs) - 1; i >= 0; i-- {
		r := revs[i]
		if r.Status != store.ASCActive {
			continue
		}
		if len(parts) == 1 || strconv.FormatInt(r.Revision, 10) == parts[1] {
			return r, nil
		}
	}
	return a, ar.NotFound("Auto scaling configuration not found: %s", arn)
}

// resolveServiceASC picks the configuration a service uses: the one named,
// which must be active, or the account's default.
func resolveServiceASC(tx *store.Tx, arn string) (store.AutoScalingConfiguration, error) {
	if arn != "" {
		a, err := findASC(tx, arn)
		var ae *ar.Error
		if errors.As(err, &ae) {
			return a, ar.InvalidRequest("AutoScalingConfigurationArn: %s", ae.Message)
		}
		if err == nil && a.Status != store.ASCActive {
			return a, ar.InvalidRequest("AutoScalingConfigurationArn: %s is %s", arn, a.Status)
		}
		return a, err
	}
	all, err := tx.AutoScalingConfigurations("")
	if err != nil {
		return store.AutoScalingConfiguration{}, err
	}
	var fallback *store.AutoScalingConfiguration
	for _, a := range all {
		if a.Status != store.ASCActive {
			continue
		}
		if a.IsDefault {
			return a, nil
		}
		if a.Name == DefaultASCName && a.Latest {
			fallback = &a
		}
	}
	if fallback == nil {
		return store.AutoScalingConfiguration{}, fmt.Errorf("no active %s auto scaling configuration", DefaultASCName)
	}
	return *fallback, nil
}

func ascSummary(tx *store.Tx, a store.AutoScalingConfiguration) (ar.AutoScalingConfigurationSummary, error) {
	users, err := tx.ServicesUsingAutoScaling(a.ARN)
	return ar.AutoScalingConfigurationSummary{
		AutoScalingConfigurationArn:      ptr(a.ARN),
		AutoScalingConfigurationName:     ptr(a.Name),
		AutoScalingConfigurationRevision: a.Revision,
		Status:                           ptr(a.Status),
		CreatedAt:                        timePtr(a.CreatedAt),
		HasAssociatedService:             ptr(len(users) > 0),
		IsDefault:                        ptr(a.IsDefault),
	}, err
}

func ascDescription(tx *store.Tx, a store.AutoScalingConfiguration) (ar.AutoScalingConfiguration, error) {
	users, err := tx.ServicesUsingAutoScaling(a.ARN)
	return ar.AutoScalingConfiguration{
		AutoScalingConfigurationArn:      ptr(a.ARN),
		AutoScalingConfigurationName:     ptr(a.Name),
		AutoScalingConfigurationRevision: ptr(a.Revision),
		Latest:                           ptr(a.Latest),
		Status:                           ptr(a.Status),
		MaxConcurrency:                   ptr(a.MaxConcurrency),
		MinSize:                          ptr(a.MinSize),
		MaxSize:                          ptr(a.MaxSize),
		CreatedAt:                        timePtr(a.CreatedAt),
		DeletedAt:                        timePtr(a.DeletedAt),
		HasAssociatedService:             ptr(len(users) > 0),
		IsDefault:                        ptr(a.IsDefault),
	}, err
}

// CreateAutoScalingConfiguration creates a configuration, or a new revision
// of an existing name.
func (c *Control) CreateAutoScalingConfiguration(ctx context.Context, in *ar.CreateAutoScalingConfigurationRequest) (*ar.CreateAutoScalingConfigurationResponse, error) {
	maxConc := deref(in.MaxConcurrency)
	if maxConc == 0 {
		maxConc = defaultMaxConcurrency
	}
	minSize, maxSize := deref(in.MinSize), deref(in.MaxSize)
	if minSize == 0 {
		minSize = defaultMinSize
	}
	if maxSize == 0 {
		maxSize = defaultMaxSize
	}
	if minSize > maxSize {
		return nil, ar.InvalidRequest("MinSize (%d) must not be greater than MaxSize (%d)", minSize, maxSize)
	}
	var out ar.AutoScalingConfiguration
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		all, err := tx.AutoScalingConfigurations("")
		if err != nil {
			return err
		}
		names := map[string]bool{}
		var revs []store.AutoScalingConfiguration
		for _, a := range all {
			if a.Status == store.ASCActive {
				names[a.Name] = true
			}
			if a.Name == in.AutoScalingConfigurationName {
				revs = append(revs, a)
			}
		}
		if !names[in.AutoScalingConfigurationName] && len(names) >= maxASCNames {
			return ar.QuotaExceeded("you can have at most %d auto scaling configuration names", maxASCNames)
		}
		active := 0
		var rev int64 = 1
		for _, r := range revs {
			if r.Status == store.ASCActive {
				active++
			}
			rev = max(rev, r.Revision+1)
			if r.Latest {
				r.Latest = false
				if err := tx.PutAutoScalingConfiguration(r); err != nil {
					return err
				}
			}
		}
		if active >= maxASCRevisionsPerName {
			return ar.QuotaExceeded("auto scaling configuration %s already has %d active revisions, the most allowed", in.AutoScalingConfigurationName, active)
		}
		a := c.newASC(in.AutoScalingConfigurationName, rev, maxConc, minSize, maxSize, false)
		if err := tx.PutAutoScalingConfiguration(a); err != nil {
			return err
		}
		if err := putTags(tx, a.ARN, in.Tags); err != nil {
			return err
		}
		out, err = ascDescription(tx, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ar.CreateAutoScalingConfigurationResponse{AutoScalingConfiguration: &out}, nil
}

// DescribeAutoScalingConfiguration describes one revision.
func (c *Control) DescribeAutoScalingConfiguration(ctx context.Context, in *ar.DescribeAutoScalingConfigurationRequest) (*ar.DescribeAutoScalingConfigurationResponse, error) {
	var out ar.AutoScalingConfiguration
	err := c.store.View(ctx, func(tx *store.Tx) error {
		a, err := findASC(tx, in.AutoScalingConfigurationArn)
		if err != nil {
			return err
		}
		out, err = ascDescription(tx, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ar.DescribeAutoScalingConfigurationResponse{AutoScalingConfiguration: &out}, nil
}

// ListAutoScalingConfigurations lists active revisions.
func (c *Control) ListAutoScalingConfigurations(ctx context.Context, in *ar.ListAutoScalingConfigurationsRequest) (*ar.ListAutoScalingConfigurationsResponse, error) {
	var sums []ar.AutoScalingConfigurationSummary
	err := c.store.View(ctx, func(tx *store.Tx) error {
		all, err := tx.AutoScalingConfigurations(deref(in.AutoScalingConfigurationName))
		if err != nil {
			return err
		}
		for _, a := range all {
			if a.Status != store.ASCActive || (in.LatestOnly && !a.Latest) {
				continue
			}
			s, err := ascSummary(tx, a)
			if err != nil {
				return err
			}
			sums = append(sums, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(sums, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ar.ListAutoScalingConfigurationsResponse{AutoScalingConfigurationSummaryList: page, NextToken: next}, nil
}

// DeleteAutoScalingConfiguration makes a revision (or every revision of
// its name) inactive.
func (c *Control) DeleteAutoScalingConfiguration(ctx context.Context, in *ar.DeleteAutoScalingConfigurationRequest) (*ar.DeleteAutoScalingConfigurationResponse, error) {
	var out ar.AutoScalingConfiguration
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		a, err := findASC(tx, in.AutoScalingConfigurationArn)
		if err != nil {
			return err
		}
		if a.Status != store.ASCActive {
			return ar.NotFound("Auto scaling configuration not found: %s", in.AutoScalingConfigurationArn)
		}
		if a.Name == DefaultASCName {
			return ar.InvalidRequest("%s is App Runner's default auto scaling configuration and can't be deleted", DefaultASCName)
		}
		if a.IsDefault {
			return ar.InvalidRequest("%s revision %d is the default auto scaling configuration; make another one the default first",
				a.Name, a.Revision)
		}
		targets := []store.AutoScalingConfiguration{a}
		if in.DeleteAllRevisions {
			// The model allows only the name's ARN (".../name") here: a
			// revision's ARN must not delete its siblings.
			if _, res, _ := strings.Cut(in.AutoScalingConfigurationArn, ":"+ascResourcePrefix); strings.Count(res, "/") > 0 {
				return ar.InvalidRequest("DeleteAllRevisions takes the configuration's ARN without a revision (ending in /%s), not %s",
					a.Name, in.AutoScalingConfigurationArn)
			}
			targets, err = tx.AutoScalingConfigurations(a.Name)
			if err != nil {
				return err
			}
		}
		for _, t := range targets {
			if users, err := tx.ServicesUsingAutoScaling(t.ARN); err != nil {
				return err
			} else if len(users) > 0 {
				return ar.InvalidRequest("auto scaling configuration %s revision %d is used by %d service(s), e.g. %s",
					t.Name, t.Revision, len(users), users[0])
			}
		}
		now := c.now()
		for _, t := range targets {
			if t.Status != store.ASCActive {
				continue
			}
			t.Status, t.DeletedAt, t.Latest, t.IsDefault = store.ASCInactive, now, false, false
			if err := tx.PutAutoScalingConfiguration(t); err != nil {
				return err
			}
			if t.ARN == a.ARN {
				a = t
			}
		}
		out, err = ascDescription(tx, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ar.DeleteAutoScalingConfigurationResponse{AutoScalingConfiguration: &out}, nil
}

// UpdateDefaultAutoScalingConfiguration makes a configuration the default
// for new services; the previous default stops being one.
func (c *Control) UpdateDefaultAutoScalingConfiguration(ctx context.Context, in *ar.UpdateDefaultAutoScalingConfigurationRequest) (*ar.UpdateDefaultAutoScalingConfigurationResponse, error) {
	var out ar.AutoScalingConfiguration
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		a, err := findASC(tx, in.AutoScalingConfigurationArn)
		if err != nil {
			return err
		}
		if a.Status != store.ASCActive {
			return ar.InvalidRequest("%s revision %d is %s and can't be the default", a.Name, a.Revision, a.Status)
		}
		all, err := tx.AutoScalingConfigurations("")
		if err != nil {
			return err
		}
		for _, o := range all {
			want := o.ARN == a.ARN
			if o.IsDefault != want {
				o.IsDefault = want
				if err := tx.PutAutoScalingConfiguration(o); err != nil {
					return err
				}
			}
		}
		a.IsDefault = true
		out, err = ascDescription(tx, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ar.UpdateDefaultAutoScalingConfigurationResponse{AutoScalingConfiguration: &out}, nil
}

// ListServicesForAutoScalingConfiguration lists the services using one.
func (c *Control) ListServicesForAutoScalingConfiguration(ctx context.Context, in *ar.ListServicesForAutoScalingConfigurationRequest) (*ar.ListServicesForAutoScalingConfigurationResponse, error) {
	var arns []string
	err := c.store.View(ctx, func(tx *store.Tx) error {
		a, err := findASC(tx, in.AutoScalingConfigurationArn)
		if err != nil {
			return err
		}
		arns, err = tx.ServicesUsingAutoScaling(a.ARN)
		return err
	})
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(arns, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return &ar.ListServicesForAutoScalingConfigurationResponse{ServiceArnList: page, NextToken: next}, nil
}
