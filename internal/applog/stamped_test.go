package applog

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStampedWriter(t *testing.T) {
	after := time.Date(2024, 5, 6, 7, 8, 9, 500, time.UTC)
	var out bytes.Buffer
	lw := &StampedWriter{W: &out, Source: "i-1", Stream: Stdout, After: after}
	input := "2024-05-06T07:08:09.0000005Z copied before a restart\n" +
		"2024-05-06T07:08:09.000000501Z new\r\n" +
		"2024-05-06T07:08:10Z par"
	lw.Write([]byte(input))
	lw.Write([]byte("tial\n2024-05-06T07:08:11Z "))
	lw.Flush()
	var got []string
	for _, l := range strings.SplitAfter(out.String(), "\n") {
		if l == "" {
			continue
		}
		e, ok := ParseLine(l)
		if !ok {
			t.Fatalf("unparsable line %q", l)
		}
		got = append(got, e.Time.Format(time.RFC3339Nano)+" "+e.Source+" "+e.Stream+" "+e.Text)
	}
	want := []string{
		"2024-05-06T07:08:09.000000501Z i-1 stdout new",
		"2024-05-06T07:08:10Z i-1 stdout partial",
		"2024-05-06T07:08:11Z i-1 stdout ",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !lw.Last.Equal(time.Date(2024, 5, 6, 7, 8, 11, 0, time.UTC)) {
		t.Fatalf("last = %v", lw.Last)
	}
}

func TestAppendSystemIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "i.log")
	if err := AppendSystem(path, "i", "hello"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("instance log mode = %v, want 0600", got)
	}
}
