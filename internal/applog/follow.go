package applog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// followInterval is how often Follow looks for new files and lines.
const followInterval = 200 * time.Millisecond

// Follow calls fn for every entry of the regular files in dir whose base
// name satisfies match: first what the files already hold, then lines as they
// are appended, until ctx ends, when it returns nil. Files that appear later
// are picked up, so it can follow all instances of a service. Each batch of
// new entries is passed in time order; a line is passed only once its newline
// is written. A file that shrinks is taken to be truncated and read again from
// the start. fn runs on the caller's goroutine.
func Follow(ctx context.Context, dir string, match func(name string) bool, fn func(Entry)) error {
	files := map[string]*followed{}
	tick := time.NewTicker(followInterval)
	defer tick.Stop()
	for {
		batch, err := pollDir(dir, match, files)
		if err != nil {
			return err
		}
		sortEntries(batch)
		for _, e := range batch {
			if ctx.Err() != nil {
				return nil
			}
			fn(e)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// followed is Follow's position in one file.
type followed struct {
	off int64
	// partial is the unfinished last line read so far.
	partial []byte
}

func pollDir(dir string, match func(string) bool, files map[string]*followed) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		// The directory may be created by the first instance; wait for it.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("follow logs: %w", err)
	}
	seen := make(map[string]bool, len(des))
	var out []Entry
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || !match(name) {
			continue
		}
		seen[name] = true
		st := files[name]
		if st == nil {
			st = &followed{}
			files[name] = st
		}
		es, err := st.poll(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	for name := range files {
		if !seen[name] {
			delete(files, name)
		}
	}
	return out, nil
}

func (st *followed) poll(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // removed between ReadDir and Open
	}
	if err != nil {
		return nil, fmt.Errorf("follow logs: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("follow logs: %w", err)
	}
	if fi.Size() < st.off {
		st.off, st.partial = 0, nil
	}
	if fi.Size() == st.off {
		return nil, nil
	}
	b, err := io.ReadAll(io.NewSectionReader(f, st.off, fi.Size()-st.off))
	if err != nil {
		return nil, fmt.Errorf("follow logs %s: %w", path, err)
	}
	st.off += int64(len(b))
	buf := append(st.partial, b...)
	es, used := parseLines(buf)
	st.partial = append([]byte(nil), buf[used:]...)
	return es, nil
}
