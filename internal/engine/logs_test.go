package engine

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/store"
)

func TestOperationLogIsPrivate(t *testing.T) {
	e := &Engine{cfg: Config{DataDir: t.TempDir()}, now: time.Now}
	l, err := e.openOpLog(store.Service{ID: "svc"}, "op-1")
	if err != nil {
		t.Fatal(err)
	}
	l.printf("hello")
	l.Close()
	fi, err := os.Stat(filepath.Join(LogDir(e.cfg.DataDir, "svc"), "op-op-1.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("operation log mode = %v, want 0600", got)
	}
}
