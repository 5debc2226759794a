package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/failpoint"
	"github.com/slipwayhq/slipway/internal/router"
	"github.com/slipwayhq/slipway/internal/store"
)

// pause stops a service's instances; its URL then answers with a page
// saying it is paused.
func (e *Engine) pause(ctx context.Context, svc store.Service, op store.Operation, logs *opLog) error {
	e.router.SetRoute(router.Route{Host: svc.Host, Service: svc.Name, State: router.Paused, Private: isPrivate(svc.Config)})
	insts, err := e.instances(ctx, svc.ARN)
	if err != nil {
		return err
	}
	logs.printf("pausing: draining and stopping %d instance(s)", len(insts))
	failpoint.Hit("pause.route-paused")
	e.retire(e.life, svc, insts, logs)
	failpoint.Hit("pause.stopped")
	err = e.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Service(svc.ARN)
		if err != nil {
			return err
		}
		if cur.Status, err = settledStatus(tx, svc.ARN, op.ID, ar.ServiceStatusPaused); err != nil {
			return err
		}
		cur.UpdatedAt = e.now()
		if err := tx.PutService(cur); err != nil {
			return err
		}
		return e.succeedLocked(tx, op.ID, "")
	})
	e.syncRoute(ctx, svc.ARN)
	return err
}

// resume starts the live release again, without rebuilding it.
func (e *Engine) resume(ctx context.Context, svc store.Service, op store.Operation, logs *opLog) error {
	if svc.Release == nil {
		return fmt.Errorf("%w: the service has no deployed version to resume", ErrConfig)
	}
	e.stopRole(ctx, svc, store.RoleCandidate)
	ok, err := e.artifactExists(ctx, svc.Release.Artifact)
	if err != nil {
		return fmt.Errorf("%w: the build of %s: %w", ErrBuild, short(svc.Release.Revision), err)
	}
	if !ok {
		return fmt.Errorf("%w: the build of %s is gone from %s", ErrBuild, short(svc.Release.Revision), svc.Release.Artifact.Path)
	}
	n, err := e.deployCount(ctx, svc, svc.Config)
	if err != nil {
		return err
	}
	logs.printf("resuming %s with %d instance(s), no rebuild", short(svc.Release.Revision), n)
	started, err := e.startInstances(ctx, svc, op.ID, *svc.Release, n, healthCheck(svc.Config.HealthCheck), logs)
	if err != nil {
		return err
	}
	failpoint.Hit("resume.health-passed")
	err = e.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Service(svc.ARN)
		if err != nil {
			return err
		}
		for _, in := range started {
			in.Role = store.RoleActive
			if err := tx.PutInstance(in); err != nil {
				return err
			}
		}
		if cur.Status, err = settledStatus(tx, svc.ARN, op.ID, ar.ServiceStatusRunning); err != nil {
			return err
		}
		cur.UpdatedAt = e.now()
		if err := tx.PutService(cur); err != nil {
			return err
		}
		return e.succeedLocked(tx, op.ID, svc.Release.Revision)
	})
	e.syncRoute(ctx, svc.ARN)
	return err
}

// delete stops everything a service has, removes its builds and frees its
// URL. The service row stays, DELETED, so Describe still answers.
func (e *Engine) delete(ctx context.Context, svc store.Service, op store.Operation, logs *opLog) error {
	e.router.RemoveRoute(svc.Host)
	insts, err := e.instances(ctx, svc.ARN)
	if err != nil {
		return err
	}
	logs.printf("deleting: stopping %d instance(s) and removing builds", len(insts))
	failpoint.Hit("delete.route-removed")
	e.retire(e.life, svc, insts, nil)
	failpoint.Hit("delete.stopped")
	var builds []store.Build
	if err := e.store.View(ctx, func(tx *store.Tx) (err error) {
		builds, err = tx.Builds(svc.ARN)
		return err
	}); err != nil {
		return err
	}
	for _, b := range builds {
		e.removeBuild(ctx, b)
	}
	os.RemoveAll(filepath.Join(e.cfg.DataDir, "builds", svc.ID))
	failpoint.Hit("delete.builds-removed")
	return e.store.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Service(svc.ARN)
		if err != nil {
			return err
		}
		cur.Status, cur.UpdatedAt, cur.DeletedAt = ar.ServiceStatusDeleted, e.now(), e.now()
		if err := tx.PutService(cur); err != nil {
			return err
		}
		return e.succeedLocked(tx, op.ID, "")
	})
}

func (e *Engine) instances(ctx context.Context, serviceARN string) ([]store.Instance, error) {
	var insts []store.Instance
	err := e.store.View(ctx, func(tx *store.Tx) (err error) {
		insts, err = tx.Instances(serviceARN)
		return err
	})
	return insts, err
}
