package control

import (
	"context"
	"errors"
	"fmt"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// TriggerAuto marks operations started by automatic deployment.
const TriggerAuto = "auto"

// RecordCommit records an automatic-deployment decision about a service's
// new branch head and, for a deploy, starts a deployment of that commit or
// joins the one already waiting. Decision, operation and the service's
// considered head change in one transaction, so a crash can't lose a
// qualifying commit: until the head is recorded, the next poll decides it
// again.
func (c *Control) RecordCommit(ctx context.Context, prevHead string, d store.CommitDecision) (store.CommitDecision, error) {
	woke := false
	err := c.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.ConsideredHead(d.ServiceARN)
		if err != nil {
			return err
		}
		if cur != prevHead {
			// Another decision about this service was recorded since the
			// caller read its considered head.
			return fmt.Errorf("%w: considered head of %s changed", store.ErrConflict, d.ServiceARN)
		}
		svc, err := tx.Service(d.ServiceARN)
		if err != nil {
			return err
		}
		if d.Decision == store.DecisionDeploy {
			opID, reason, err := c.enqueueAutoDeployLocked(tx, &svc, d.Commit)
			if err != nil {
				return err
			}
			if opID == "" {
				d.Decision, d.Reason = store.DecisionSkip, reason
			} else {
				d.OperationID, woke = opID, true
			}
		}
		d.DecidedAt = c.now()
		if err := tx.PutCommitDecision(d); err != nil {
			return err
		}
		return tx.PutConsideredHead(d.ServiceARN, d.Commit)
	})
	if woke {
		c.wake()
	}
	return d, err
}

// enqueueAutoDeployLocked starts a START_DEPLOYMENT of commit, or moves the
// deployment already waiting to the newer commit, so that commits arriving
// during a deployment produce at most one follow-up. It returns the
// operation, or no operation and why not.
func (c *Control) enqueueAutoDeployLocked(tx *store.Tx, svc *store.Service, commit string) (string, string, error) {
	ops, err := tx.UnfinishedOperationsOf(svc.ARN)
	if err != nil {
		return "", "", err
	}
	for _, op := range ops {
		switch {
		case op.Type == ar.OperationTypePauseService || op.Type == ar.OperationTypeDeleteService:
			return "", "skipped: the service is being " + map[string]string{
				ar.OperationTypePauseService: "paused", ar.OperationTypeDeleteService: "deleted"}[op.Type], nil
		case op.Status == ar.OperationStatusPending && op.Type == ar.OperationTypeStartDeployment && op.Trigger == TriggerAuto:
			op.Revision, op.UpdatedAt = commit, c.now()
			return op.ID, "", tx.PutOperation(op)
		}
	}
	op := c.newOperation(context.Background(), svc.ARN, ar.OperationTypeStartDeployment, nil)
	op.Trigger, op.Revision = TriggerAuto, commit
	switch svc.Status {
	case ar.ServiceStatusRunning:
		return op.ID, "", c.beginLocked(tx, svc, op)
	case ar.ServiceStatusOperationInProgress:
		// Queued behind the running operation; the engine runs them in order.
		return op.ID, "", tx.PutOperation(op)
	}
	return "", "skipped: the service is " + svc.Status, nil
}

// CommitDecisions returns a service's decision log, newest first. service
// is a name or an ARN.
func (c *Control) CommitDecisions(ctx context.Context, service string) ([]store.CommitDecision, error) {
	var out []store.CommitDecision
	err := c.store.View(ctx, func(tx *store.Tx) error {
		svc, err := lookup(tx, service)
		if err != nil {
			return err
		}
		out, err = tx.CommitDecisions(svc.ARN)
		return err
	})
	return out, err
}

// lookup finds a live service by name, or any service by ARN.
func lookup(tx *store.Tx, service string) (store.Service, error) {
	var (
		svc store.Service
		err error
	)
	if ar.IsARN(service) {
		svc, err = tx.Service(service)
	} else {
		svc, err = tx.ServiceByName(service)
	}
	if errors.Is(err, store.ErrNotFound) {
		return svc, ar.NotFound("Service not found: %s", service)
	}
	return svc, err
}
