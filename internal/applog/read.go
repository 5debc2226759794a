package applog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// Read reads the entries of the given files and merges them in time order;
// entries with equal times keep their file and line order. Files that do not
// exist yet are read as empty, lines not in the format are skipped, and a
// last line without a newline is left out because it is still being written.
func Read(paths ...string) ([]Entry, error) {
	var all []Entry
	for _, p := range paths {
		es, err := readFile(p)
		if err != nil {
			return nil, err
		}
		all = append(all, es...)
	}
	sortEntries(all)
	return all, nil
}

// Tail returns the last n entries of Read(paths...).
func Tail(n int, paths ...string) ([]Entry, error) {
	all, err := Read(paths...)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		n = 0
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all, nil
}

func readFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	defer f.Close()
	var out []Entry
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read log %s: %w", path, err)
		}
		if e, ok := ParseLine(line); ok {
			out = append(out, e)
		}
	}
}

func sortEntries(es []Entry) {
	slices.SortStableFunc(es, func(a, b Entry) int { return a.Time.Compare(b.Time) })
}

// parseLines parses the complete lines of b and returns them with the number
// of bytes consumed; an unfinished last line is not consumed.
func parseLines(b []byte) ([]Entry, int) {
	var out []Entry
	used := 0
	for {
		i := bytes.IndexByte(b[used:], '\n')
		if i < 0 {
			return out, used
		}
		if e, ok := ParseLine(string(b[used : used+i])); ok {
			out = append(out, e)
		}
		used += i + 1
	}
}
