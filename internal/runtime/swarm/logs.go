package swarm

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/applog"
)

// follower copies one service's output, gathered by the manager from the
// node its task runs on, into the instance's log file as applog lines.
type follower struct {
	service, instance, path string
	done                    chan struct{}
}

const (
	followRetryMin = 200 * time.Millisecond
	followRetryMax = time.Second
)

// follow starts copying service's logs unless a copier already runs.
func (b *Backend) follow(service, instance, path string) {
	if service == "" || instance == "" || path == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.followers[service]; ok || b.closed {
		return
	}
	f := &follower{service: service, instance: instance, path: path, done: make(chan struct{})}
	b.followers[service] = f
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer close(f.done)
		if err := b.copyLogs(b.ctx, f); err != nil && b.ctx.Err() == nil {
			b.log.Debug("copying service logs stopped", "instance", instance, "service", short(service), "err", err)
		}
	}()
}

// waitLogs waits up to d for service's copier to finish.
func (b *Backend) waitLogs(service string, d time.Duration) {
	b.mu.Lock()
	f := b.followers[service]
	b.mu.Unlock()
	if f == nil {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
	}
}

func (b *Backend) forget(service string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.followers, service)
}

// copyLogs follows the service's logs from after the last line the file
// holds until its task ends (the stream closes then) or the service is
// removed, and then records how the task ended.
func (b *Backend) copyLogs(ctx context.Context, f *follower) error {
	file, err := applog.OpenAppend(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	since := applog.LastTime(f.path, f.instance)
	retry := followRetryMin
	for {
		out := &applog.StampedWriter{W: file, Source: f.instance, Stream: applog.Stdout, After: since}
		errOut := &applog.StampedWriter{W: file, Source: f.instance, Stream: applog.Stderr, After: since}
		opts := client.ServiceLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true}
		if !since.IsZero() {
			opts.Since = since.Format(time.RFC3339Nano)
		}
		// The stream of a service's logs stays open after its task ends
		// (for tasks to come): end it once the task has ended.
		sctx, scancel := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			b.watchEnd(sctx, f.service)
			scancel()
		}()
		rc, err := b.cli.ServiceLogs(sctx, f.service, opts)
		if err == nil {
			_, err = stdcopy.StdCopy(out, errOut, rc)
			rc.Close()
		}
		scancel()
		<-watched
		out.Flush()
		errOut.Flush()
		since = applog.Latest(since, out.Last, errOut.Last)
		if ctx.Err() != nil {
			return nil
		}
		t, ok, terr := b.task(ctx, f.service)
		if terr != nil {
			return errors.Join(err, terr)
		}
		if !ok {
			// Stop scaled the service down and Swarm dropped its
			// ended task: there is no more output to come.
			return nil
		}
		if ended(t.Status.State) {
			st := b.stateOf(ctx, t)
			e := applog.Entry{Time: time.Now(), Source: f.instance, Stream: applog.System, Text: st.Reason}
			_, werr := io.WriteString(file, e.String()+"\n")
			return werr
		}
		if _, ierr := b.cli.ServiceInspect(ctx, f.service, client.ServiceInspectOptions{}); ierr != nil {
			return nil // removed
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
		retry = min(2*retry, followRetryMax)
	}
}

// watchEnd returns when service's task has ended (and its last output has
// had a moment to arrive), when the service is gone, or when ctx ends.
func (b *Backend) watchEnd(ctx context.Context, service string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
		t, ok, err := b.task(ctx, service)
		if err == nil && (!ok || ended(t.Status.State)) {
			select {
			case <-ctx.Done():
			case <-time.After(250 * time.Millisecond):
			}
			return
		}
	}
}
