package applog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxLineLen is the longest text an Entry gets from a writer; longer output
// lines are split so that a reader never needs an unbounded buffer.
const MaxLineLen = 64 << 10

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("applog: writer closed")

// NewWriter returns a writer that splits what is written to it into lines
// and appends each to w as one Entry line, stamped with now(). A partial last
// line is held until its newline or Close, which flushes it; lines longer
// than MaxLineLen are split. Each Entry reaches w in a single Write, so
// several writers may share one O_APPEND file. Write is safe for concurrent
// use. Close does not close w.
func NewWriter(w io.Writer, source, stream string, now func() time.Time) io.WriteCloser {
	if now == nil {
		now = time.Now
	}
	return &writer{w: w, source: source, stream: stream, now: now}
}

type writer struct {
	w              io.Writer
	source, stream string
	now            func() time.Time

	mu sync.Mutex
	// buf holds the unfinished last line.
	buf    []byte
	closed bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	w.buf = append(w.buf, p...)
	start := 0
	for {
		rest := w.buf[start:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 && len(rest) <= MaxLineLen {
			break
		}
		end, next := i, i+1
		if i < 0 || i > MaxLineLen {
			end = splitPoint(rest)
			next = end
		}
		if err := w.emitLocked(rest[:end]); err != nil {
			// Drop what was emitted so a retry does not repeat it.
			w.buf = append(w.buf[:0], w.buf[start+next:]...)
			return 0, err
		}
		start += next
	}
	w.buf = append(w.buf[:0], w.buf[start:]...)
	return len(p), nil
}

// splitPoint returns where to cut an over-long line: at MaxLineLen, moved
// back to a rune boundary so that neither half has a broken UTF-8 sequence.
func splitPoint(b []byte) int {
	end := MaxLineLen
	for i := end; i > end-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return end
}

func (w *writer) emitLocked(line []byte) error {
	line = bytes.TrimSuffix(line, []byte("\r"))
	e := Entry{Time: w.now(), Source: w.source, Stream: w.stream, Text: string(line)}
	if _, err := io.WriteString(w.w, e.String()+"\n"); err != nil {
		return fmt.Errorf("write log line: %w", err)
	}
	return nil
}

// Close flushes a partial last line. Closing twice is not an error.
func (w *writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if len(w.buf) == 0 {
		return nil
	}
	err := w.emitLocked(w.buf)
	w.buf = nil
	return err
}
