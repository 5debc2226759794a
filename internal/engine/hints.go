package engine

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

// portHint explains a failed health check of an instance on the host's
// network whose app listens on its configured port instead of the free one
// it was given in its port variable: the usual reason when Slipway cannot
// give instances namespaces of their own. It returns "" otherwise.
func portHint(ctx context.Context, inst runtime.Instance, run store.RunPlan) string {
	if inst.NetNS != "" || run.Port == 0 {
		return ""
	}
	_, p, err := net.SplitHostPort(inst.Addr)
	given, _ := strconv.Atoi(p)
	if err != nil || given == run.Port {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(run.Port)))
	if err != nil {
		return ""
	}
	c.Close()
	env := run.PortEnv
	if env == "" {
		env = "PORT"
	}
	return fmt.Sprintf("; the app listens on its configured port %d rather than on $%s (%d): "+
		"this daemon runs instances on the host's network (--instance-network host, or namespaces cannot be made here: see its start-up log), "+
		"where each instance gets a free port in $%s and must listen on it",
		run.Port, env, given, env)
}

// limitsEnforcer is implemented by backends that may run instances without
// their Cpu and Memory limits (the process runtime, without cgroups).
type limitsEnforcer interface {
	LimitsEnforced() bool
}

// warnUnlimited says in the operation log when rel's limits will not hold.
func (e *Engine) warnUnlimited(rel store.Release, logs *opLog) {
	if rel.Run.CPU <= 0 && rel.Run.Memory <= 0 {
		return
	}
	b, err := e.backendFor(rel.Artifact.Backend)
	if err != nil {
		return
	}
	if l, ok := b.(limitsEnforcer); ok && !l.LimitsEnforced() {
		logs.printf("warning: Cpu and Memory are not enforced: this host cannot make control groups for instances (see the daemon's start-up log)")
	}
}
