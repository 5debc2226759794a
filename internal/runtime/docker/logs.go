package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	// tailWindow is how much of the end of a log file is read to find
	// where copying left off.
	tailWindow = 1 << 20
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
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return err
	}
	file, err := os.OpenFile(f.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer file.Close()
	since := lastEntryTime(f.path, f.instance)
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
		out := &lineWriter{w: file, instance: f.instance, stream: applog.Stdout, after: since}
		errOut := &lineWriter{w: file, instance: f.instance, stream: applog.Stderr, after: since}
		opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true}
		if !since.IsZero() {
			opts.Since = since.Format(time.RFC3339Nano)
		}
		rc, err := b.cli.ContainerLogs(ctx, f.container, opts)
		if err == nil {
			_, err = stdcopy.StdCopy(out, errOut, rc)
			rc.Close()
		}
		out.flush()
		errOut.flush()
		since = latest(since, out.last, errOut.last)
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

// lineWriter turns the engine's timestamped output lines into applog lines,
// dropping those not after after (already copied before a restart).
type lineWriter struct {
	w        io.Writer
	instance string
	stream   string
	after    time.Time
	last     time.Time
	buf      []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			break
		}
		if err := lw.emit(lw.buf[:i]); err != nil {
			return 0, err
		}
		lw.buf = lw.buf[i+1:]
	}
	// A line longer than an entry may hold goes out in pieces.
	for len(lw.buf) > applog.MaxLineLen+64 {
		if err := lw.emit(lw.buf[:applog.MaxLineLen]); err != nil {
			return 0, err
		}
		lw.buf = lw.buf[applog.MaxLineLen:]
	}
	return len(p), nil
}

func (lw *lineWriter) flush() {
	if len(lw.buf) > 0 {
		_ = lw.emit(lw.buf)
		lw.buf = nil
	}
}

func (lw *lineWriter) emit(line []byte) error {
	line = bytes.TrimSuffix(line, []byte("\r"))
	ts, text, ok := bytes.Cut(line, []byte(" "))
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if !ok || err != nil {
		// Not timestamped (a continuation of a split line): keep it whole.
		t, text = time.Now(), line
	}
	if !t.After(lw.after) {
		return nil
	}
	lw.last = latest(lw.last, t)
	e := applog.Entry{Time: t, Source: lw.instance, Stream: lw.stream, Text: string(text)}
	_, err = io.WriteString(lw.w, e.String()+"\n")
	return err
}

// lastEntryTime returns the time of the last entry of instance in the log
// file at path, or the zero time.
func lastEntryTime(path, instance string) time.Time {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return time.Time{}
	}
	off := max(fi.Size()-tailWindow, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return time.Time{}
	}
	var last time.Time
	for _, line := range bytes.Split(buf, []byte("\n")) {
		if e, ok := applog.ParseLine(string(line)); ok && e.Source == instance {
			last = latest(last, e.Time)
		}
	}
	return last
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
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

// systemLine appends a line of Slipway's own to an instance's log.
func systemLine(path, instance, format string, args ...any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	e := applog.Entry{Time: time.Now(), Source: instance, Stream: applog.System, Text: fmt.Sprintf(format, args...)}
	_, err = io.WriteString(f, e.String()+"\n")
	return err
}
