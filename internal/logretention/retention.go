package logretention

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/store"
)

// Store is what the sweep reads of Slipway's state.
type Store interface {
	View(ctx context.Context, fn func(tx *store.Tx) error) error
}

// Config configures a Sweeper.
type Config struct {
	// Retention is how long log files are kept after their newest entry;
	// 0 keeps them forever.
	Retention time.Duration
	// Every is how often Run sweeps; 0 for hourly.
	Every time.Duration
	// LogDir is the directory of a service's log files.
	LogDir func(serviceID string) string
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

// Sweeper removes expired log files.
type Sweeper struct {
	cfg Config
	st  Store
	log *slog.Logger
}

// New returns a Sweeper of the log files of st's services.
func New(cfg Config, st Store, log *slog.Logger) *Sweeper {
	if cfg.Every <= 0 {
		cfg.Every = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sweeper{cfg: cfg, st: st, log: log}
}

// Run sweeps at once and then every cfg.Every until ctx ends. With no
// retention it returns at once.
func (s *Sweeper) Run(ctx context.Context) {
	if s.cfg.Retention <= 0 {
		return
	}
	tick := time.NewTicker(s.cfg.Every)
	defer tick.Stop()
	for {
		removed, err := s.Sweep(ctx, s.cfg.Now())
		if err != nil && ctx.Err() == nil {
			s.log.Error("log retention sweep", "err", err)
		}
		if len(removed) > 0 {
			s.log.Info("removed expired logs", "files", len(removed), "retention", s.cfg.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// file is a log file as the decision sees it.
type file struct {
	path string
	// newest is the time of its newest entry, or its modification time
	// when it has none.
	newest time.Time
	// open files are still written: a live instance's, an unfinished
	// operation's. Their writers hold them open, so removing one would
	// lose what they write next.
	open bool
}

// expired returns the files to remove at now: those not open whose newest
// entry is older than keep.
func expired(files []file, now time.Time, keep time.Duration) []string {
	cutoff := now.Add(-keep)
	var out []string
	for _, f := range files {
		if !f.open && f.newest.Before(cutoff) {
			out = append(out, f.path)
		}
	}
	return out
}

// Sweep removes the log files expired at now, and the log directories of
// deleted services that it leaves empty. It returns the paths removed.
func (s *Sweeper) Sweep(ctx context.Context, now time.Time) ([]string, error) {
	var (
		svcs []store.Service
		open = map[string]bool{} // file names still written
	)
	err := s.st.View(ctx, func(tx *store.Tx) error {
		var err error
		if svcs, err = tx.Services(true); err != nil {
			return err
		}
		insts, err := tx.Instances("")
		if err != nil {
			return err
		}
		for _, in := range insts {
			open[in.ID+".log"] = true
		}
		ops, err := tx.UnfinishedOperations()
		for _, op := range ops {
			open["op-"+op.ID+".log"] = true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("log retention: %w", err)
	}
	var removed []string
	for _, svc := range svcs {
		dir := s.cfg.LogDir(svc.ID)
		files, err := listFiles(dir, open)
		if err != nil {
			return removed, err
		}
		for _, p := range expired(files, now, s.cfg.Retention) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, fmt.Errorf("log retention: %w", err)
			}
			removed = append(removed, p)
		}
		// A live service's directory stays: its next instance writes there.
		if !svc.DeletedAt.IsZero() {
			if des, err := os.ReadDir(dir); err == nil && len(des) == 0 {
				os.Remove(dir)
			}
		}
	}
	return removed, nil
}

func listFiles(dir string, open map[string]bool) ([]file, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("log retention: %w", err)
	}
	var out []file
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), ".log") {
			continue
		}
		p := filepath.Join(dir, de.Name())
		_, last, ok, err := applog.Bounds(p)
		if err != nil {
			return nil, err
		}
		if !ok {
			info, err := de.Info()
			if err != nil {
				continue // gone meanwhile
			}
			last = info.ModTime()
		}
		out = append(out, file{path: p, newest: last, open: open[de.Name()]})
	}
	return out, nil
}
