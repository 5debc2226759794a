package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/failpoint"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

// Failure kinds of an operation, checked with errors.Is.
var (
	ErrSource   = errors.New("source error")
	ErrConfig   = errors.New("configuration error")
	ErrBuild    = runtime.ErrBuildFailed // a backend's build failure is the operation's
	ErrStart    = errors.New("instance failed to start")
	ErrHealth   = errors.New("health check failed")
	ErrCrash    = errors.New("instance crashed")
	ErrTimeout  = errors.New("deployment timed out")
	ErrRestarts = errors.New("interrupted by daemon restarts")
)

// failedAs marks err as a failure of kind, unless it already is one (a
// backend's build failure): "build failed: build failed: ..." reads badly.
func failedAs(kind, err error) error {
	if errors.Is(err, kind) {
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}

// runOperation carries out one recorded operation. When the daemon stops
// mid-way (ctx ends) the operation is left unfinished: the next daemon
// resumes it.
func (e *Engine) runOperation(ctx context.Context, opID string) {
	var (
		op  store.Operation
		svc store.Service
	)
	failpoint.Hit("operation.pending")
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		var err error
		if op, err = tx.Operation(opID); err != nil {
			return err
		}
		if op.Done() {
			return nil
		}
		if svc, err = tx.Service(op.ServiceARN); err != nil {
			return err
		}
		op.Attempts++
		op.Status = ar.OperationStatusInProgress
		op.UpdatedAt = e.now()
		return tx.PutOperation(op)
	})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("start operation", "op", opID, "err", err)
		}
		return
	}
	if op.Done() {
		return
	}
	failpoint.Hit("operation.started")
	log := e.log.With("service", svc.Name, "op", op.ID, "type", op.Type)
	logs, err := e.openOpLog(svc, op.ID)
	if err != nil {
		log.Error("open operation log", "err", err)
		return
	}
	defer logs.Close()
	if op.Attempts > 1 {
		logs.printf("resuming %s after a daemon restart (attempt %d)", op.Type, op.Attempts)
	}
	if op.Attempts > e.cfg.MaxAttempts {
		err = fmt.Errorf("%w: the daemon stopped %d times while it ran", ErrRestarts, op.Attempts-1)
	} else {
		opCtx, cancel := context.WithTimeout(ctx, e.cfg.DeployTimeout)
		err = e.execute(opCtx, svc, op, logs)
		cancel()
		if ctx.Err() != nil {
			log.Info("daemon stopping; operation will resume on restart")
			return
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w after %s (--deploy-timeout): %w", ErrTimeout, e.cfg.DeployTimeout, err)
		}
	}
	if err == nil {
		log.Info("operation succeeded")
		e.observeOperation(ctx, op.ID, svc.Name)
		return
	}
	log.Info("operation failed", "err", err)
	e.fail(ctx, svc, op, logs, err)
	e.observeOperation(ctx, op.ID, svc.Name)
}

func (e *Engine) execute(ctx context.Context, svc store.Service, op store.Operation, logs *opLog) error {
	switch op.Type {
	case ar.OperationTypeCreateService, ar.OperationTypeStartDeployment, ar.OperationTypeUpdateService:
		return e.deploy(ctx, svc, op, logs)
	case ar.OperationTypePauseService:
		return e.pause(ctx, svc, op, logs)
	case ar.OperationTypeResumeService:
		return e.resume(ctx, svc, op, logs)
	case ar.OperationTypeDeleteService:
		return e.delete(ctx, svc, op, logs)
	}
	return fmt.Errorf("unknown operation type %q", op.Type)
}

// fail settles a failed operation: a deployment rolls back (its candidate
// instances stop, the old version keeps serving), other operations leave
// the service as it was.
func (e *Engine) fail(ctx context.Context, svc store.Service, op store.Operation, logs *opLog, cause error) {
	reason := cause.Error()
	logs.printf("FAILED: %s", reason)
	deploying := op.Type == ar.OperationTypeCreateService || op.Type == ar.OperationTypeStartDeployment ||
		op.Type == ar.OperationTypeUpdateService
	// A deployment rolls back only when a previous version runs; a first
	// deployment just fails.
	rollback := deploying && svc.Release != nil
	if rollback {
		e.setOperationStatus(ctx, op.ID, ar.OperationStatusRollbackInProgress)
		logs.printf("rolling back: stopping the new instances; the previous version keeps serving")
		failpoint.Hit("fail.rolling-back")
	}
	e.stopRole(ctx, svc, store.RoleCandidate)
	failpoint.Hit("fail.candidates-stopped")
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Service(svc.ARN)
		if err != nil {
			return err
		}
		o, err := tx.Operation(op.ID)
		if err != nil {
			return err
		}
		o.Status = ar.OperationStatusFailed
		switch {
		case op.Type == ar.OperationTypeDeleteService:
			cur.Status = ar.ServiceStatusDeleteFailed
		case op.Type == ar.OperationTypePauseService:
			cur.Status = ar.ServiceStatusRunning
		case op.Type == ar.OperationTypeResumeService:
			cur.Status = ar.ServiceStatusPaused
		case cur.Release == nil:
			// Nothing ever deployed: the service stays failed until an
			// update succeeds.
			cur.Status = ar.ServiceStatusCreateFailed
		default:
			o.Status = ar.OperationStatusRollbackSucceeded
			cur.Status = ar.ServiceStatusRunning
		}
		if cur.Status, err = settledStatus(tx, svc.ARN, op.ID, cur.Status); err != nil {
			return err
		}
		o.Reason = truncate(reason, 8000)
		o.EndedAt, o.UpdatedAt = e.now(), e.now()
		cur.UpdatedAt = e.now()
		if err := tx.PutOperation(o); err != nil {
			return err
		}
		return tx.PutService(cur)
	})
	if err != nil {
		e.log.Error("record failed operation", "op", op.ID, "err", err)
	}
	if rollback {
		logs.printf("rollback complete")
	}
	e.syncRoute(ctx, svc.ARN)
}

func (e *Engine) setOperationStatus(ctx context.Context, opID, status string) {
	err := e.store.Update(ctx, func(tx *store.Tx) error {
		o, err := tx.Operation(opID)
		if err != nil {
			return err
		}
		o.Status, o.UpdatedAt = status, e.now()
		return tx.PutOperation(o)
	})
	if err != nil {
		e.log.Error("update operation", "op", opID, "err", err)
	}
}

// succeed marks an operation SUCCEEDED inside tx.
func (e *Engine) succeedLocked(tx *store.Tx, opID, revision string) error {
	o, err := tx.Operation(opID)
	if err != nil {
		return err
	}
	o.Status = ar.OperationStatusSucceeded
	o.EndedAt, o.UpdatedAt = e.now(), e.now()
	if revision != "" {
		o.Revision = revision
	}
	return tx.PutOperation(o)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// triggerAuto marks operations started by automatic deployment; they carry
// the commit to deploy.
const triggerAuto = "auto"

// settledStatus is the status a service takes when operation opID ends
// with status: still OPERATION_IN_PROGRESS while another operation waits.
func settledStatus(tx *store.Tx, serviceARN, opID, status string) (string, error) {
	ops, err := tx.UnfinishedOperationsOf(serviceARN)
	if err != nil {
		return "", err
	}
	for _, o := range ops {
		if o.ID != opID {
			return ar.ServiceStatusOperationInProgress, nil
		}
	}
	return status, nil
}
