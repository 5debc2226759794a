package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

// Logs calls fn with a service's log entries in time order: build output,
// Slipway's messages and app output. service is a name or an ARN;
// operation, when set, keeps only that operation's entries (its build and
// the instances it started). With follow, Logs keeps calling fn with new
// entries until ctx ends.
func (e *Engine) Logs(ctx context.Context, service, operation string, follow bool, fn func(applog.Entry)) error {
	var svc store.Service
	err := e.store.View(ctx, func(tx *store.Tx) (err error) {
		if ar.IsARN(service) {
			svc, err = tx.Service(service)
		} else {
			svc, err = tx.ServiceByName(service)
		}
		if errors.Is(err, store.ErrNotFound) {
			return ar.NotFound("Service not found: %s", service)
		}
		if err != nil || operation == "" {
			return err
		}
		op, err := tx.Operation(operation)
		if errors.Is(err, store.ErrNotFound) || (err == nil && op.ServiceARN != svc.ARN) {
			return ar.NotFound("Operation %s not found for service %s", operation, svc.Name)
		}
		return err
	})
	if err != nil {
		return err
	}
	dir := LogDir(e.cfg.DataDir, svc.ID)
	match := func(name string) bool {
		if !strings.HasSuffix(name, ".log") {
			return false
		}
		if operation == "" {
			return true
		}
		return name == "op-"+operation+".log" || strings.HasPrefix(name, operation[:min(8, len(operation))]+"-")
	}
	if follow {
		return applog.Follow(ctx, dir, match, fn)
	}
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var paths []string
	for _, d := range des {
		if match(d.Name()) {
			paths = append(paths, filepath.Join(dir, d.Name()))
		}
	}
	entries, err := applog.Read(paths...)
	if err != nil {
		return err
	}
	for _, en := range entries {
		fn(en)
	}
	return nil
}
