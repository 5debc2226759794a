package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/swarm"

	"github.com/slipwayhq/slipway/internal/runtime"
)

var _ runtime.StartWaiter = (*Backend)(nil)

// WaitStarted waits for the instance's task to run: Start returns once
// Swarm placed it, and its node then pulls the image (task state
// "preparing"), which for a managed runtime's build is hundreds of
// megabytes the first time. It also returns, with nil, when the task ended
// or its node is down: Status says so.
func (b *Backend) WaitStarted(ctx context.Context, inst runtime.Instance) error {
	if inst.Ref == "" {
		return fmt.Errorf("wait for %s: no service ID", inst.ID)
	}
	for {
		t, ok, err := b.task(ctx, inst.Ref)
		if err != nil {
			return fmt.Errorf("wait for %s: %w", inst.ID, err)
		}
		// A node that died while pulling never reports the task again;
		// Status finds the node down as soon as the manager does.
		if !ok || t.Status.State == swarm.TaskStateRunning || ended(t.Status.State) || b.nodeDown(ctx, t.NodeID) != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to start (task %s): %w", inst.ID, t.Status.State, ctx.Err())
		case <-time.After(startPoll):
		}
	}
}

// startPoll spaces WaitStarted's looks at the task and its node, as often
// as the health checks that follow probe until their first success (and
// ask Status meanwhile).
const startPoll = 50 * time.Millisecond
