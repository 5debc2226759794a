package logretention

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

var now = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func TestExpired(t *testing.T) {
	files := []file{
		{path: "old", newest: now.Add(-31 * day)},
		{path: "just-expired", newest: now.Add(-30*day - time.Nanosecond)},
		{path: "at-the-limit", newest: now.Add(-30 * day)},
		{path: "recent", newest: now.Add(-time.Hour)},
		{path: "old-but-open", newest: now.Add(-90 * day), open: true},
	}
	if got, want := expired(files, now, 30*day), []string{"old", "just-expired"}; !slices.Equal(got, want) {
		t.Errorf("expired = %v, want %v", got, want)
	}
	if got := expired(files, now, 365*day); len(got) != 0 {
		t.Errorf("with a year's retention: %v, want none", got)
	}
}

func TestSweep(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "slipway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	live := store.Service{ARN: "arn:aws:apprunner:us-east-1:000000000000:service/web/aaaa", ID: "aaaa", Name: "web",
		Status: ar.ServiceStatusRunning, Host: "a", CreatedAt: now.Add(-100 * day), UpdatedAt: now}
	gone := store.Service{ARN: "arn:aws:apprunner:us-east-1:000000000000:service/old/bbbb", ID: "bbbb", Name: "old",
		Status: ar.ServiceStatusDeleted, Host: "b", CreatedAt: now.Add(-100 * day), UpdatedAt: now, DeletedAt: now.Add(-40 * day)}
	err = st.Update(ctx, func(tx *store.Tx) error {
		for _, s := range []store.Service{live, gone} {
			if err := tx.PutService(s); err != nil {
				return err
			}
		}
		if err := tx.PutInstance(store.Instance{ID: "live-inst", ServiceARN: live.ARN, OperationID: "op1", Role: store.RoleActive, CreatedAt: now}); err != nil {
			return err
		}
		return tx.PutOperation(store.Operation{ID: "running", ServiceARN: live.ARN, Type: ar.OperationTypeStartDeployment,
			Status: ar.OperationStatusInProgress, StartedAt: now.Add(-40 * day)})
	})
	if err != nil {
		t.Fatal(err)
	}
	logDir := func(id string) string { return filepath.Join(dir, "logs", id) }
	write := func(svc, name string, at time.Time) string {
		p := filepath.Join(logDir(svc), name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		e := applog.Entry{Time: at, Source: "x", Stream: applog.Stdout, Text: "line"}
		if err := os.WriteFile(p, []byte(e.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oldOp := write("aaaa", "op-done.log", now.Add(-31*day))
	write("aaaa", "op-recent.log", now.Add(-29*day))
	write("aaaa", "op-running.log", now.Add(-40*day)) // unfinished operation
	write("aaaa", "live-inst.log", now.Add(-60*day))  // a quiet app that still runs
	oldInst := write("aaaa", "gone-inst.log", now.Add(-45*day))
	empty := filepath.Join(logDir("aaaa"), "never-wrote.log")
	os.WriteFile(empty, nil, 0o600)
	os.Chtimes(empty, now.Add(-31*day), now.Add(-31*day))
	other := filepath.Join(logDir("aaaa"), "notes.txt")
	os.WriteFile(other, nil, 0o600)
	goneOp := write("bbbb", "op-delete.log", now.Add(-40*day))

	s := New(Config{Retention: 30 * day, LogDir: logDir}, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	removed, err := s.Sweep(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{empty, goneOp, oldInst, oldOp}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v\nwant %v", removed, want)
	}
	for _, name := range []string{"op-recent.log", "op-running.log", "live-inst.log", "notes.txt"} {
		if _, err := os.Stat(filepath.Join(logDir("aaaa"), name)); err != nil {
			t.Errorf("%s: %v, want kept", name, err)
		}
	}
	if _, err := os.Stat(logDir("bbbb")); !os.IsNotExist(err) {
		t.Errorf("deleted service's empty log dir: %v, want removed", err)
	}
}

func TestRunStops(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(t.Context(), filepath.Join(dir, "slipway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := New(Config{Retention: day, Every: time.Millisecond, LogDir: func(id string) string { return filepath.Join(dir, id) }},
		st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		s.Run(ctx)
		close(done)
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
