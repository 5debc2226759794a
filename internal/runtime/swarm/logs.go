package swarm

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

// follower copies one service's output, gathered by the manager from the
// node its task runs on, into the instance's log file as applog lines.
type follower struct {
	service, instance, path string
	done                    chan struct{}
}

const (
	followRetryMin = 200 * time.Millisecond
	followRetryMax = time.Second
	tailWindow     = 1 << 20
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
		out := &lineWriter{w: file, instance: f.instance, stream: applog.Stdout, after: since}
		errOut := &lineWriter{w: file, instance: f.instance, stream: applog.Stderr, after: since}
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
		out.flush()
		errOut.flush()
		since = latest(since, out.last, errOut.last)
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

// lineWriter turns timestamped output lines into applog lines, dropping
// those not after after (already copied).
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
