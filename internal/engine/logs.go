package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/store"
)

// LogDir is where a service's logs are: one file per operation
// (op-<id>.log: Slipway's own messages and build output) and one per
// instance (<instance id>.log).
func LogDir(dataDir, serviceID string) string {
	return filepath.Join(dataDir, "logs", serviceID)
}

func (e *Engine) instanceLogPath(svc store.Service, instanceID string) string {
	return filepath.Join(LogDir(e.cfg.DataDir, svc.ID), instanceID+".log")
}

// opLog writes an operation's log file.
type opLog struct {
	f     *os.File
	sys   io.WriteCloser // Slipway's own messages
	build io.WriteCloser // build command output
}

func (e *Engine) openOpLog(svc store.Service, opID string) (*opLog, error) {
	dir := LogDir(e.cfg.DataDir, svc.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "op-"+opID+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("operation log: %w", err)
	}
	return &opLog{
		f:     f,
		sys:   applog.NewWriter(f, "slipway", "system", e.now),
		build: applog.NewWriter(f, "build", "stdout", e.now),
	}, nil
}

// printf writes a line; a nil log (background repairs) drops it.
func (l *opLog) printf(format string, args ...any) {
	if l == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	io.WriteString(l.sys, msg)
}

func (l *opLog) Close() error {
	if l == nil {
		return nil
	}
	l.sys.Close()
	l.build.Close()
	return l.f.Close()
}

// lastLines returns up to n of the last lines of the log files, for
// failure reasons.
func lastLines(n int, paths ...string) string {
	entries, err := applog.Read(paths...)
	if err != nil || len(entries) == 0 {
		return ""
	}
	if len(entries) > n {
		entries = entries[len(entries)-n:]
	}
	var b strings.Builder
	for _, en := range entries {
		fmt.Fprintf(&b, "  %s %s\n", en.Source, en.Text)
	}
	return b.String()
}
