package console

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// serviceView is a service as the pages show it.
type serviceView struct {
	ID, ARN, Name, Status string
	// URL is the default domain as a link; Domain is App Runner's
	// ServiceUrl (no scheme).
	URL, Domain string
	Source      sourceView
	AutoDeploy  bool
	// LastDeployedAt and LastRevision describe the release that runs.
	LastDeployedAt time.Time
	LastRevision   string
	CreatedAt      time.Time
	Config         store.Config
}

// Busy reports whether an operation runs, which disables actions.
func (s serviceView) Busy() bool { return s.Status == ar.ServiceStatusOperationInProgress }

// sourceView is where a service's code comes from.
type sourceView struct {
	Image                         bool
	Repository, Branch, Directory string
	ImageIdentifier               string
}

func (c *Console) viewService(s store.Service) serviceView {
	v := serviceView{
		ID: s.ID, ARN: s.ARN, Name: s.Name, Status: s.Status,
		Domain: c.ctl.ServiceURL(s.Host), CreatedAt: s.CreatedAt, Config: s.Config,
	}
	v.URL = "http://" + v.Domain
	if s.Release != nil {
		v.LastDeployedAt, v.LastRevision = s.Release.DeployedAt, s.Release.Revision
	}
	if src := s.Config.Source; src != nil {
		v.AutoDeploy = src.AutoDeploymentsEnabled != nil && *src.AutoDeploymentsEnabled
		switch {
		case src.CodeRepository != nil:
			cr := src.CodeRepository
			v.Source.Repository = cr.RepositoryUrl
			if cr.SourceCodeVersion != nil {
				v.Source.Branch = cr.SourceCodeVersion.Value
			}
			v.Source.Directory = "/"
			if cr.SourceDirectory != nil {
				if d, err := ar.CleanSourceDirectory(*cr.SourceDirectory); err == nil && d != "" {
					v.Source.Directory = d
				}
			}
		case src.ImageRepository != nil:
			v.Source.Image = true
			v.Source.ImageIdentifier = src.ImageRepository.ImageIdentifier
		}
	}
	return v
}

// listServices returns the live services in creation order.
func (c *Console) listServices(ctx context.Context) ([]serviceView, error) {
	var svcs []store.Service
	if err := c.store.View(ctx, func(tx *store.Tx) (err error) {
		svcs, err = tx.Services(false)
		return err
	}); err != nil {
		return nil, err
	}
	out := make([]serviceView, 0, len(svcs))
	for _, s := range svcs {
		out = append(out, c.viewService(s))
	}
	return out, nil
}

// loadService finds a service by its ID, deleted or not, so a page open
// during a delete shows "Deleted" rather than an error.
func (c *Console) loadService(ctx context.Context, id string) (store.Service, bool, error) {
	var (
		found store.Service
		ok    bool
	)
	err := c.store.View(ctx, func(tx *store.Tx) error {
		svcs, err := tx.Services(true)
		for _, s := range svcs {
			if s.ID == id {
				found, ok = s, true
			}
		}
		return err
	})
	return found, ok, err
}

// opView is an operation as Activity shows it.
type opView struct {
	store.Operation
	ServiceID string
	// LastLines are the operation's last log lines, for failed ones whose
	// reason does not already quote them.
	LastLines []applog.Entry
}

// Failed reports whether the operation failed or rolled back.
func (o opView) Failed() bool {
	switch o.Status {
	case ar.OperationStatusFailed, ar.OperationStatusRollbackSucceeded, ar.OperationStatusRollbackFailed:
		return true
	}
	return false
}

// Duration is how long the operation ran (so far, if it runs).
func (o opView) Duration() time.Duration {
	if o.EndedAt.IsZero() {
		return 0
	}
	return o.EndedAt.Sub(o.StartedAt)
}

// activityItem is one row of Activity: an operation, an
// automatic-deployment decision or a scaling event.
type activityItem struct {
	Time     time.Time
	Op       *opView
	Decision *store.CommitDecision
	Scaling  *store.ScalingEvent
}

// operations lists a service's operations, newest first.
func (c *Console) operations(ctx context.Context, arn string) ([]store.Operation, error) {
	var ops []store.Operation
	err := c.store.View(ctx, func(tx *store.Tx) (err error) {
		ops, err = tx.Operations(arn)
		return err
	})
	return ops, err
}

// lastLinesShown bounds the log lines shown under a failed operation.
const lastLinesShown = 12

// failedOpsWithLines bounds how many failed operations get their log read
// per render, so a long history stays cheap.
const failedOpsWithLines = 5

// activity merges operations and decisions, newest first.
func (c *Console) activity(ctx context.Context, svc store.Service, limit int) ([]activityItem, error) {
	ops, err := c.operations(ctx, svc.ARN)
	if err != nil {
		return nil, err
	}
	decisions, err := c.ctl.CommitDecisions(ctx, svc.ARN)
	if err != nil {
		return nil, err
	}
	var scaling []store.ScalingEvent
	if err := c.store.View(ctx, func(tx *store.Tx) (err error) {
		scaling, err = tx.ScalingEvents(svc.ARN)
		return err
	}); err != nil {
		return nil, err
	}
	items := make([]activityItem, 0, len(ops)+len(decisions)+len(scaling))
	withLines := 0
	for _, o := range ops {
		v := &opView{Operation: o, ServiceID: svc.ID}
		if v.Failed() && withLines < failedOpsWithLines && !strings.Contains(o.Reason, "Last log lines") {
			withLines++
			v.LastLines = c.lastLines(ctx, svc.ARN, o.ID)
		}
		items = append(items, activityItem{Time: o.StartedAt, Op: v})
	}
	for i := range decisions {
		items = append(items, activityItem{Time: decisions[i].DecidedAt, Decision: &decisions[i]})
	}
	for i := range scaling {
		items = append(items, activityItem{Time: scaling[i].At, Scaling: &scaling[i]})
	}
	// Stable keeps the store's newest-first order among equal times.
	sort.SliceStable(items, func(i, j int) bool { return items[i].Time.After(items[j].Time) })
	if limit > 0 && len(items) > limit {
		items = items[:limit]
	}
	return items, nil
}

func (c *Console) lastLines(ctx context.Context, arn, opID string) []applog.Entry {
	var ring []applog.Entry
	err := c.logs.Logs(ctx, arn, opID, false, func(e applog.Entry) {
		ring = append(ring, e)
		if len(ring) > lastLinesShown {
			ring = ring[1:]
		}
	})
	if err != nil {
		c.log.Debug("read last log lines", "operation", opID, "err", err)
	}
	return ring
}
