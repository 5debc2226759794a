package control

import (
	"context"
	"errors"
	"strconv"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// Observability configuration limits, as App Runner's.
const (
	// reservedObservabilityName is App Runner's own configuration; nobody
	// can create it or a revision of it.
	reservedObservabilityName        = "DefaultConfiguration"
	maxObservabilityNames            = 10
	maxObservabilityRevisionsPerName = 10
	observabilityResourcePrefix      = ar.ResourceObservabilityConfiguration + "/"
)

func (c *Control) newObservability(name string, rev int64, trace *ar.TraceConfiguration) store.ObservabilityConfiguration {
	o := store.ObservabilityConfiguration{
		ARN:       ar.ObservabilityConfigurationARN(c.cfg.Region, c.cfg.Account, name, int(rev), ar.NewID()),
		Name:      name,
		Revision:  rev,
		Latest:    true,
		Status:    ar.ObservabilityConfigurationStatusActive,
		CreatedAt: c.now(),
	}
	if trace != nil {
		o.TraceVendor = trace.Vendor
	}
	return o
}

func observabilityDescription(o store.ObservabilityConfiguration) ar.ObservabilityConfiguration {
	d := ar.ObservabilityConfiguration{
		ObservabilityConfigurationArn:      ptr(o.ARN),
		ObservabilityConfigurationName:     ptr(o.Name),
		ObservabilityConfigurationRevision: o.Revision,
		Latest:                             o.Latest,
		Status:                             ptr(o.Status),
		CreatedAt:                          timePtr(o.CreatedAt),
		DeletedAt:                          timePtr(o.DeletedAt),
	}
	if o.TraceVendor != "" {
		d.TraceConfiguration = &ar.TraceConfiguration{Vendor: o.TraceVendor}
	}
	return d
}

// findObservability resolves a full ARN, or a partial one ending in /name
// (the latest active revision) or /name/revision.
func findObservability(tx *store.Tx, arn string) (store.ObservabilityConfiguration, error) {
	o, err := tx.ObservabilityConfiguration(arn)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return o, err
	}
	notFound := ar.NotFound("Observability configuration not found: %s", arn)
	_, res, ok := strings.Cut(arn, ":"+observabilityResourcePrefix)
	parts := strings.Split(res, "/")
	if !ok || len(parts) > 2 {
		return o, notFound
	}
	revs, err := tx.ObservabilityConfigurations(parts[0])
	if err != nil {
		return o, err
	}
	for i := len(revs) - 1; i >= 0; i-- {
		r := revs[i]
		if r.Status == ar.ObservabilityConfigurationStatusActive &&
			(len(parts) == 1 || strconv.FormatInt(r.Revision, 10) == parts[1]) {
			return r, nil
		}
	}
	return o, notFound
}

// resolveServiceObservability checks the observability configuration a
// service names, which must be active, and replaces a partial ARN by the
// revision's full one so that lookups of the services using it find it.
func resolveServiceObservability(tx *store.Tx, cfg *ar.ServiceObservabilityConfiguration) error {
	if cfg == nil || deref(cfg.ObservabilityConfigurationArn) == "" {
		return nil
	}
	arn := *cfg.ObservabilityConfigurationArn
	o, err := findObservability(tx, arn)
	var ae *ar.Error
	if errors.As(err, &ae) {
		return ar.InvalidRequest("ObservabilityConfigurationArn: %s", ae.Message)
	}
	if err != nil {
		return err
	}
	if o.Status != ar.ObservabilityConfigurationStatusActive {
		return ar.InvalidRequest("ObservabilityConfigurationArn: %s is %s", arn, o.Status)
	}
	cfg.ObservabilityConfigurationArn = ptr(o.ARN)
	return nil
}

// CreateObservabilityConfiguration creates a configuration, or a new
// revision of an existing name, which becomes the latest.
func (c *Control) CreateObservabilityConfiguration(ctx context.Context, in *ar.CreateObservabilityConfigurationRequest) (*ar.CreateObservabilityConfigurationResponse, error) {
	name := in.ObservabilityConfigurationName
	if name == reservedObservabilityName {
		return nil, ar.InvalidRequest("%s is App Runner's reserved observability configuration name; choose another", name)
	}
	var out ar.ObservabilityConfiguration
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		all, err := tx.ObservabilityConfigurations("")
		if err != nil {
			return err
		}
		names := map[string]bool{}
		active := 0
		var rev int64 = 1
		for _, o := range all {
			if o.Status == ar.ObservabilityConfigurationStatusActive {
				names[o.Name] = true
			}
			if o.Name != name {
				continue
			}
			if o.Status == ar.ObservabilityConfigurationStatusActive {
				active++
			}
			rev = max(rev, o.Revision+1)
			if o.Latest {
				o.Latest = false
				if err := tx.PutObservabilityConfiguration(o); err != nil {
					return err
				}
			}
		}
		if !names[name] && len(names) >= maxObservabilityNames {
			return ar.QuotaExceeded("you can have at most %d observability configuration names", maxObservabilityNames)
		}
		if active >= maxObservabilityRevisionsPerName {
			return ar.QuotaExceeded("observability configuration %s already has %d active revisions, the most allowed",
				name, active)
		}
		o := c.newObservability(name, rev, in.TraceConfiguration)
		if err := tx.PutObservabilityConfiguration(o); err != nil {
			return err
		}
		out = observabilityDescription(o)
		return putTags(tx, o.ARN, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return &ar.CreateObservabilityConfigurationResponse{ObservabilityConfiguration: &out}, nil
}

// DescribeObservabilityConfiguration describes one revision, inactive ones
// included when named by full ARN.
func (c *Control) DescribeObservabilityConfiguration(ctx context.Context, in *ar.DescribeObservabilityConfigurationRequest) (*ar.DescribeObservabilityConfigurationResponse, error) {
	var out ar.ObservabilityConfiguration
	err := c.store.View(ctx, func(tx *store.Tx) error {
		o, err := findObservability(tx, in.ObservabilityConfigurationArn)
		out = observabilityDescription(o)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ar.DescribeObservabilityConfigurationResponse{ObservabilityConfiguration: &out}, nil
}

// ListObservabilityConfigurations lists active revisions by name and
// revision.
func (c *Control) ListObservabilityConfigurations(ctx context.Context, in *ar.ListObservabilityConfigurationsRequest) (*ar.ListObservabilityConfigurationsResponse, error) {
	var sums []ar.ObservabilityConfigurationSummary
	err := c.store.View(ctx, func(tx *store.Tx) error {
		all, err := tx.ObservabilityConfigurations(deref(in.ObservabilityConfigurationName))
		for _, o := range all {
			if o.Status != ar.ObservabilityConfigurationStatusActive || (in.LatestOnly && !o.Latest) {
				continue
			}
			sums = append(sums, ar.ObservabilityConfigurationSummary{
				ObservabilityConfigurationArn:      ptr(o.ARN),
				ObservabilityConfigurationName:     ptr(o.Name),
				ObservabilityConfigurationRevision: o.Revision,
			})
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
	return &ar.ListObservabilityConfigurationsResponse{ObservabilityConfigurationSummaryList: page, NextToken: next}, nil
}

// DeleteObservabilityConfiguration makes a revision no service uses
// inactive. When it was the latest, the newest active revision left
// becomes the latest, so that LatestOnly still lists the name.
func (c *Control) DeleteObservabilityConfiguration(ctx context.Context, in *ar.DeleteObservabilityConfigurationRequest) (*ar.DeleteObservabilityConfigurationResponse, error) {
	var out ar.ObservabilityConfiguration
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		o, err := findObservability(tx, in.ObservabilityConfigurationArn)
		if err != nil {
			return err
		}
		if o.Status != ar.ObservabilityConfigurationStatusActive {
			return ar.NotFound("Observability configuration not found: %s (it is %s)", in.ObservabilityConfigurationArn, o.Status)
		}
		what := "observability configuration " + o.Name + " revision " + strconv.FormatInt(o.Revision, 10)
		if err := refuseInUse(tx, store.PathObservability, o.ARN, what); err != nil {
			return err
		}
		wasLatest := o.Latest
		o.Status, o.DeletedAt, o.Latest = ar.ObservabilityConfigurationStatusInactive, c.now(), false
		if err := tx.PutObservabilityConfiguration(o); err != nil {
			return err
		}
		out = observabilityDescription(o)
		if !wasLatest {
			return nil
		}
		revs, err := tx.ObservabilityConfigurations(o.Name)
		if err != nil {
			return err
		}
		for i := len(revs) - 1; i >= 0; i-- {
			if r := revs[i]; r.Status == ar.ObservabilityConfigurationStatusActive {
				r.Latest = true
				return tx.PutObservabilityConfiguration(r)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ar.DeleteObservabilityConfigurationResponse{ObservabilityConfiguration: &out}, nil
}
