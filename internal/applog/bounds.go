package applog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// boundsChunk is how much of each end of a file Bounds reads: enough for
// the longest line a writer produces, with its time, source and stream.
const boundsChunk = MaxLineLen + 1024

// Bounds returns the times of the first and the last complete entries of
// the file at path without reading all of it, for listings that show a
// file's time span. ok is false when the file holds no complete entry or
// does not exist.
func Bounds(path string) (first, last time.Time, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return first, last, false, nil
	}
	if err != nil {
		return first, last, false, fmt.Errorf("log bounds: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return first, last, false, fmt.Errorf("log bounds: %w", err)
	}
	size := st.Size()
	if size <= 2*boundsChunk {
		b, err := io.ReadAll(f)
		if err != nil {
			return first, last, false, fmt.Errorf("log bounds %s: %w", path, err)
		}
		es, _ := parseLines(b)
		if len(es) == 0 {
			return first, last, false, nil
		}
		return minMax(es)
	}
	head := make([]byte, boundsChunk)
	if _, err := f.ReadAt(head, 0); err != nil {
		return first, last, false, fmt.Errorf("log bounds %s: %w", path, err)
	}
	tail := make([]byte, boundsChunk)
	if _, err := f.ReadAt(tail, size-boundsChunk); err != nil && !errors.Is(err, io.EOF) {
		return first, last, false, fmt.Errorf("log bounds %s: %w", path, err)
	}
	// The tail's first line is most likely cut; start after it.
	if i := bytes.IndexByte(tail, '\n'); i >= 0 {
		tail = tail[i+1:]
	}
	hs, _ := parseLines(head)
	ts, _ := parseLines(tail)
	if len(hs) == 0 || len(ts) == 0 {
		// Lines not in the format at one end: read it all.
		es, err := readFile(path)
		if err != nil || len(es) == 0 {
			return first, last, false, err
		}
		return minMax(es)
	}
	first, _, _, _ = minMax(hs)
	_, last, _, _ = minMax(ts)
	return first, last, true, nil
}

// minMax returns the earliest and the latest time of es, which writers
// sharing a file may have appended slightly out of order.
func minMax(es []Entry) (first, last time.Time, ok bool, err error) {
	first, last = es[0].Time, es[0].Time
	for _, e := range es[1:] {
		if e.Time.Before(first) {
			first = e.Time
		}
		if e.Time.After(last) {
			last = e.Time
		}
	}
	return first, last, true, nil
}
