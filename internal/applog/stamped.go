package applog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// StampedWriter turns output lines that begin with an RFC 3339 time (as
// Docker's log API sends a container's output with timestamps on) into
// entries of Source and Stream on W. Lines not after After (copied before a
// daemon restart) are dropped; Last is the newest time written.
type StampedWriter struct {
	W              io.Writer
	Source, Stream string
	After, Last    time.Time
	buf            []byte
}

func (lw *StampedWriter) Write(p []byte) (int, error) {
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
	for len(lw.buf) > MaxLineLen+64 {
		if err := lw.emit(lw.buf[:MaxLineLen]); err != nil {
			return 0, err
		}
		lw.buf = lw.buf[MaxLineLen:]
	}
	return len(p), nil
}

// Flush writes a last line that has no newline.
func (lw *StampedWriter) Flush() {
	if len(lw.buf) > 0 {
		_ = lw.emit(lw.buf)
		lw.buf = nil
	}
}

func (lw *StampedWriter) emit(line []byte) error {
	line = bytes.TrimSuffix(line, []byte("\r"))
	ts, text, ok := bytes.Cut(line, []byte(" "))
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if !ok || err != nil {
		// Not timestamped (a continuation of a split line): keep it whole.
		t, text = time.Now(), line
	}
	if !t.After(lw.After) {
		return nil
	}
	lw.Last = Latest(lw.Last, t)
	e := Entry{Time: t, Source: lw.Source, Stream: lw.Stream, Text: string(text)}
	_, err = io.WriteString(lw.W, e.String()+"\n")
	return err
}

// tailWindow is how much of the end of a log file LastTime reads.
const tailWindow = 1 << 20

// LastTime returns the time of the last entry of source in the log file at
// path (within its last MiB), or the zero time: where copying a source's
// output resumes after a restart.
func LastTime(path, source string) time.Time {
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
		if e, ok := ParseLine(string(line)); ok && e.Source == source {
			last = Latest(last, e.Time)
		}
	}
	return last
}

// Latest returns the latest of ts, or the zero time.
func Latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// OpenAppend opens the log file at path for appending, creating it (0600:
// logs may hold secrets an app printed) and its directory.
func OpenAppend(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
}

// AppendSystem appends a line of Slipway's own about source to the log
// file at path, creating it (0600) and its directory.
func AppendSystem(path, source, format string, args ...any) error {
	f, err := OpenAppend(path)
	if err != nil {
		return err
	}
	defer f.Close()
	e := Entry{Time: time.Now(), Source: source, Stream: System, Text: fmt.Sprintf(format, args...)}
	_, err = io.WriteString(f, e.String()+"\n")
	return err
}
