package process

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/internal/runtime"
)

var _ runtime.Lister = (*Backend)(nil)

// List returns the instances whose shims still run, found by the pid
// files in the state directory. Addr is unknown here and left empty.
func (b *Backend) List(ctx context.Context) ([]runtime.Instance, error) {
	pids, err := filepath.Glob(filepath.Join(b.cfg.Dir, "*.pid"))
	if err != nil {
		return nil, err
	}
	var out []runtime.Instance
	for _, p := range pids {
		id := strings.TrimSuffix(filepath.Base(p), ".pid")
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 1 {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.state == 'Z' || !isShimOf(pid, id) {
			continue // ended, or the pid now belongs to another process
		}
		out = append(out, runtime.Instance{
			ID:        id,
			Backend:   Name,
			Ref:       ref{pid: pid, starttime: st.starttime}.String(),
			StartedAt: time.Time{},
		})
	}
	return out, nil
}

// isShimOf reports whether pid runs the shim of instance id.
func isShimOf(pid int, id string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := bytes.Split(cmdline, []byte{0})
	hasShim, hasID := false, false
	for i, a := range args {
		hasShim = hasShim || string(a) == ShimCommand
		if string(a) == "--id" && i+1 < len(args) && string(args[i+1]) == id {
			hasID = true
		}
	}
	return hasShim && hasID
}
