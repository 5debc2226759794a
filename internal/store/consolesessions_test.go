package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestConsoleSessions(t *testing.T) {
	s, _ := open(t)
	old := ConsoleSession{IDHash: "old", CSRF: "c1", CreatedAt: t0, LastSeenAt: t0}
	idle := ConsoleSession{IDHash: "idle", CSRF: "c2", CreatedAt: t0.Add(time.Hour), LastSeenAt: t0.Add(time.Hour)}
	live := ConsoleSession{IDHash: "live", CSRF: "c3", CreatedAt: t0.Add(time.Hour), LastSeenAt: t0.Add(time.Hour)}
	gone := ConsoleSession{IDHash: "gone", CSRF: "c4", CreatedAt: t0.Add(time.Hour), LastSeenAt: t0.Add(time.Hour)}
	update(t, s, func(tx *Tx) error {
		for _, cs := range []ConsoleSession{old, idle, live, gone} {
			if err := tx.PutConsoleSession(cs); err != nil {
				return err
			}
		}
		if err := tx.PutConsoleSession(live); err == nil {
			t.Error("a second session with the same hash was accepted")
		}
		// old stays in use, but is past the absolute lifetime below.
		if err := tx.TouchConsoleSession("old", t0.Add(3*time.Hour)); err != nil {
			return err
		}
		if err := tx.TouchConsoleSession("live", t0.Add(3*time.Hour)); err != nil {
			return err
		}
		if err := tx.DeleteConsoleSession("gone"); err != nil {
			return err
		}
		// Touching a session that ended does not bring it back.
		if err := tx.TouchConsoleSession("gone", t0.Add(3*time.Hour)); err != nil {
			return err
		}
		return tx.DeleteConsoleSessionsBefore(t0.Add(2*time.Hour), t0.Add(30*time.Minute))
	})
	view(t, s, func(tx *Tx) error {
		for _, h := range []string{"old", "idle", "gone"} {
			if _, err := tx.ConsoleSession(h); !errors.Is(err, ErrNotFound) {
				t.Errorf("session %s: err %v, want ErrNotFound", h, err)
			}
		}
		got, err := tx.ConsoleSession("live")
		want := live
		want.LastSeenAt = t0.Add(3 * time.Hour)
		if err != nil || got != want {
			t.Errorf("live session = %+v, %v; want %+v", got, err, want)
		}
		return nil
	})
}

func TestUpdateQuietWakesNoWatcher(t *testing.T) {
	s, _ := open(t)
	changed := s.Changed()
	if err := s.UpdateQuiet(context.Background(), func(tx *Tx) error {
		return tx.PutConsoleSession(ConsoleSession{IDHash: "h", CSRF: "c", CreatedAt: t0, LastSeenAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Error("UpdateQuiet woke Changed watchers")
	default:
	}
	view(t, s, func(tx *Tx) error {
		if _, err := tx.ConsoleSession("h"); err != nil {
			t.Errorf("UpdateQuiet did not commit: %v", err)
		}
		return nil
	})
	update(t, s, func(tx *Tx) error { return tx.DeleteConsoleSession("h") })
	select {
	case <-changed:
	default:
		t.Error("Update did not wake Changed watchers")
	}
}
