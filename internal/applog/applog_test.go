package applog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

// clock returns a now func that advances a microsecond per call, so entries
// written in order get increasing times.
func clock(start time.Time) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Microsecond)
		return t
	}
}

func TestEntryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   Entry
		line string
		want Entry
	}{
		{
			name: "plain",
			in:   Entry{Time: t0, Source: "build", Stream: Stdout, Text: "hello world"},
			line: "2024-05-06T07:08:09.123456789Z build stdout hello world",
		},
		{
			name: "empty text",
			in:   Entry{Time: t0, Source: "i-1", Stream: Stderr},
			line: "2024-05-06T07:08:09.123456789Z i-1 stderr ",
		},
		{
			name: "local time is stored as UTC",
			in:   Entry{Time: t0.In(time.FixedZone("x", 3600)), Source: "i-1", Stream: System, Text: "x"},
			line: "2024-05-06T07:08:09.123456789Z i-1 system x",
			want: Entry{Time: t0, Source: "i-1", Stream: System, Text: "x"},
		},
		{
			name: "whole seconds keep a fixed width",
			in:   Entry{Time: t0.Truncate(time.Second), Source: "a", Stream: Stdout, Text: "x"},
			line: "2024-05-06T07:08:09.000000000Z a stdout x",
		},
		{
			name: "fields are made to fit",
			in:   Entry{Time: t0, Source: "my app", Stream: Stdout, Text: "a\nb  c "},
			line: "2024-05-06T07:08:09.123456789Z my_app stdout a b  c ",
			want: Entry{Time: t0, Source: "my_app", Stream: Stdout, Text: "a b  c "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.line {
				t.Fatalf("String() = %q, want %q", got, tt.line)
			}
			want := tt.want
			if want.Source == "" {
				want = tt.in
			}
			got, ok := ParseLine(tt.line + "\n")
			if !ok {
				t.Fatalf("ParseLine(%q) not ok", tt.line)
			}
			if !got.Time.Equal(want.Time) || got.Source != want.Source || got.Stream != want.Stream || got.Text != want.Text {
				t.Fatalf("ParseLine = %+v, want %+v", got, want)
			}
		})
	}
}

func TestParseLineRejects(t *testing.T) {
	for _, line := range []string{
		"",
		"garbage",
		"2024-05-06T07:08:09Z",
		"2024-05-06T07:08:09Z build",
		"yesterday build stdout x",
		"2024-05-06T07:08:09Z build stdnothing x",
		"2024-05-06T07:08:09Z  stdout x",
	} {
		if e, ok := ParseLine(line); ok {
			t.Errorf("ParseLine(%q) = %+v, true; want false", line, e)
		}
	}
	// The short RFC 3339 forms other tools write are accepted.
	if e, ok := ParseLine("2024-05-06T07:08:09Z build stdout"); !ok || e.Text != "" {
		t.Errorf("ParseLine without text = %+v, %v; want empty text, true", e, ok)
	}
}

func texts(t *testing.T, out string) []string {
	t.Helper()
	var got []string
	for _, l := range strings.SplitAfter(out, "\n") {
		if l == "" {
			continue
		}
		e, ok := ParseLine(l)
		if !ok {
			t.Fatalf("writer produced unparsable line %q", l)
		}
		got = append(got, e.Text)
	}
	return got
}

func TestWriter(t *testing.T) {
	long := strings.Repeat("x", MaxLineLen+10)
	// é is two bytes; put one across the split point.
	wide := strings.Repeat("a", MaxLineLen-1) + "é" + "z"
	tests := []struct {
		name   string
		writes []string
		before []string // texts before Close
		after  []string // texts after Close
	}{
		{"one line", []string{"hi\n"}, []string{"hi"}, []string{"hi"}},
		{"partial held", []string{"a", "b\nc"}, []string{"ab"}, []string{"ab", "c"}},
		{"several in one write", []string{"1\n2\n\n3\n"}, []string{"1", "2", "", "3"}, []string{"1", "2", "", "3"}},
		{"crlf", []string{"dos\r\n"}, []string{"dos"}, []string{"dos"}},
		{"long line split", []string{long + "\n"}, []string{long[:MaxLineLen], "xxxxxxxxxx"}, []string{long[:MaxLineLen], "xxxxxxxxxx"}},
		{"long partial split", []string{long}, []string{long[:MaxLineLen]}, []string{long[:MaxLineLen], "xxxxxxxxxx"}},
		{"split keeps runes whole", []string{wide + "\n"}, []string{wide[:MaxLineLen-1], "éz"}, []string{wide[:MaxLineLen-1], "éz"}},
		{"nothing", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewWriter(&out, "i-1", Stdout, clock(t0))
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if got := texts(t, out.String()); !equal(got, tt.before) {
				t.Fatalf("before Close: %q, want %q", short(got), short(tt.before))
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := texts(t, out.String()); !equal(got, tt.after) {
				t.Fatalf("after Close: %q, want %q", short(got), short(tt.after))
			}
			if err := w.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Write after Close = %v, want ErrClosed", err)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func short(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		if len(s) > 20 {
			s = fmt.Sprintf("%s...(%d bytes)", s[:10], len(s))
		}
		out[i] = s
	}
	return out
}

func TestWriterFields(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, "build", Stderr, func() time.Time { return t0 })
	fmt.Fprintln(w, "oops")
	e, ok := ParseLine(out.String())
	if !ok || e.Source != "build" || e.Stream != Stderr || !e.Time.Equal(t0) || e.Text != "oops" {
		t.Fatalf("got %+v, %v", e, ok)
	}
}

// lockedBuffer lets the race detector check the writer, not the buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestWriterConcurrent(t *testing.T) {
	var out lockedBuffer
	w := NewWriter(&out, "i-1", Stdout, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	w.Close()
	got := texts(t, out.b.String())
	if len(got) != 800 {
		t.Fatalf("got %d lines, want 800", len(got))
	}
	for _, s := range got {
		var g, i int
		if _, err := fmt.Sscanf(s, "g%d line %d", &g, &i); err != nil {
			t.Fatalf("mangled line %q", s)
		}
	}
}

func writeLines(t *testing.T, path string, es ...Entry) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, e := range es {
		if _, err := fmt.Fprintln(f, e.String()); err != nil {
			t.Fatal(err)
		}
	}
}

func at(sec int, source, text string) Entry {
	return Entry{Time: t0.Add(time.Duration(sec) * time.Second), Source: source, Stream: Stdout, Text: text}
}

func TestReadAndTail(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	writeLines(t, a, at(1, "a", "a1"), at(3, "a", "a3"), at(3, "a", "a3bis"))
	writeLines(t, b, at(2, "b", "b2"), at(3, "b", "b3"), at(5, "b", "b5"))
	// Junk and a line still being written are skipped.
	f, _ := os.OpenFile(b, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprint(f, "not a log line\n"+at(6, "b", "b6").String())
	f.Close()

	tests := []struct {
		name  string
		tail  int
		paths []string
		want  []string
	}{
		{"merge is stable", -1, []string{a, b}, []string{"a1", "b2", "a3", "a3bis", "b3", "b5"}},
		{"file order breaks ties", -1, []string{b, a}, []string{"a1", "b2", "b3", "a3", "a3bis", "b5"}},
		{"missing file is empty", -1, []string{a, filepath.Join(dir, "none.log")}, []string{"a1", "a3", "a3bis"}},
		{"tail", 2, []string{a, b}, []string{"b3", "b5"}},
		{"tail more than there is", 10, []string{a}, []string{"a1", "a3", "a3bis"}},
		{"tail zero", 0, []string{a}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var es []Entry
			var err error
			if tt.tail < 0 {
				es, err = Read(tt.paths...)
			} else {
				es, err = Tail(tt.tail, tt.paths...)
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Text)
			}
			if !equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadError(t *testing.T) {
	if _, err := Read(t.TempDir()); err == nil {
		t.Fatal("Read(directory) succeeded, want error")
	}
}

func TestFollow(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "svc-a.log")
	writeLines(t, a, at(2, "a", "old-a2"))
	writeLines(t, filepath.Join(dir, "svc-b.log"), at(1, "b", "old-b1"))
	writeLines(t, filepath.Join(dir, "other.log"), at(1, "x", "ignored"))

	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, dir, func(n string) bool { return strings.HasPrefix(n, "svc-") }, func(e Entry) {
			got <- e.Text
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Follow = %v", err)
		}
	})

	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			select {
			case g := <-got:
				if g != w {
					t.Fatalf("got %q, want %q", g, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("timed out waiting for %q", w)
			}
		}
	}
	// Existing content first, merged in time order.
	expect("old-b1", "old-a2")

	// A partial line is held until its newline arrives.
	f, err := os.OpenFile(a, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := at(10, "a", "new-a10").String()
	fmt.Fprint(f, line[:20])
	time.Sleep(3 * followInterval)
	fmt.Fprint(f, line[20:]+"\n")
	expect("new-a10")

	// A file that appears later is picked up.
	writeLines(t, filepath.Join(dir, "svc-c.log"), at(11, "c", "new-c11"))
	expect("new-c11")

	// A truncated file is read again from the start.
	if err := os.Truncate(a, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * followInterval)
	writeLines(t, a, at(12, "a", "after-truncate"))
	expect("after-truncate")

	select {
	case g := <-got:
		t.Fatalf("unexpected extra entry %q", g)
	case <-time.After(3 * followInterval):
	}
}

func TestFollowMissingDirWaits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "later")
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, dir, func(string) bool { return true }, func(e Entry) { got <- e.Text })
	}()
	time.Sleep(2 * followInterval)
	os.Mkdir(dir, 0o755)
	writeLines(t, filepath.Join(dir, "x.log"), at(1, "x", "hello"))
	select {
	case g := <-got:
		if g != "hello" {
			t.Fatalf("got %q", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Follow = %v, want nil after cancel", err)
	}
}
