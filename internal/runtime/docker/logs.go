package docker

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/applog"
)

// follower copies one container's output from the engine into the
// instance's log file as applog lines, stamped with the engine's times. It
// resumes after the last line the file holds, so a restarted daemon neither
// loses nor repeats lines, and when the container ends it adds a system line
// saying how.
type follower struct {
	container, instance, path string
	done                      chan struct{}
}

// Backoff between attempts when the log stream breaks while the container
// still runs (the engine restarting, for one).
const (
	followRetryMin = 200 * time.Millisecond
	followRetryMax = 5 * time.Second
)

// follow starts copying container's logs unless a copier already runs for
// it. It returns the copier, or nil when there is nothing to copy to.
func (b *Backend) follow(container, instance, path string) *follower {
	if container == "" || instance == "" || path == "" {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.followers[container]; ok || b.closed {
		return f
	}
	f := &follower{container: container, instance: instance, path: path, done: make(chan struct{})}
	b.followers[container] = f
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer close(f.done)
		if err := b.copyLogs(b.ctx, f); err != nil && b.ctx.Err() == nil {
			b.log.Warn("copying container logs stopped", "instance", instance, "container", short(container), "err", err)
		}
	}()
	return f
}

// waitLogs waits up to d for container's copier to finish, so that an
// ended instance's last lines are in its log before anyone reads them.
func (b *Backend) waitLogs(container string, d time.Duration) {
	b.mu.Lock()
	f := b.followers[container]
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

// forget drops the copier of a removed container.
func (b *Backend) forget(container string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.followers, container)
}

func (b *Backend) copyLogs(ctx context.Context, f *follower) error {
	file, err := applog.OpenAppend(f.path)
	if err != nil {
		return err
	}
	defer file.Close()
	since := applog.LastTime(f.path, f.instance)
	retry := followRetryMin
	for {
		info, err := b.cli.ContainerInspect(ctx, f.container, client.ContainerInspectOptions{})
		if err != nil {
			return err // gone, or ctx ended
		}
		if st := info.Container.State; st != nil && !st.Running && !st.Restarting &&
			!parseTime(st.FinishedAt).IsZero() && !since.Before(parseTime(st.FinishedAt)) {
			// It ended and its end is already recorded.
			return nil
		}
		out := &applog.StampedWriter{W: file, Source: f.instance, Stream: applog.Stdout, After: since}
		errOut := &applog.StampedWriter{W: file, Source: f.instance, Stream: applog.Stderr, After: since}
		opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true}
		if !since.IsZero() {
			opts.Since = since.Format(time.RFC3339Nano)
		}
		rc, err := b.cli.ContainerLogs(ctx, f.container, opts)
		if err == nil {
			_, err = stdcopy.StdCopy(out, errOut, rc)
			rc.Close()
		}
		out.Flush()
		errOut.Flush()
		since = applog.Latest(since, out.Last, errOut.Last)
		if ctx.Err() != nil {
			return nil
		}
		// The stream ends when the container does; record how, unless it
		// broke while the container still runs.
		info, ierr := b.cli.ContainerInspect(ctx, f.container, client.ContainerInspectOptions{})
		if ierr != nil {
			return errors.Join(err, ierr)
		}
		if st := info.Container.State; st != nil && !st.Running && !st.Restarting && st.Status != "created" {
			state := stateOf(info.Container)
			e := applog.Entry{Time: time.Now(), Source: f.instance, Stream: applog.System, Text: state.Reason}
			if fin := parseTime(st.FinishedAt); !e.Time.After(fin) {
				e.Time = fin.Add(time.Nanosecond)
			}
			_, werr := io.WriteString(file, e.String()+"\n")
			return werr
		}
		b.log.Debug("log stream broke; retrying", "container", short(f.container), "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(retry):
		}
		retry = min(2*retry, followRetryMax)
	}
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 {
		return time.Time{} // "0001-01-01T00:00:00Z" while running
	}
	return t
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
