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
