package applog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBounds(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("y", MaxLineLen)
	tests := []struct {
		name        string
		lines       []string
		first, last int // seconds after t0
		ok          bool
	}{
		{name: "empty"},
		{name: "one", lines: []string{at(4, "a", "x").String()}, first: 4, last: 4, ok: true},
		{name: "out of order ends", lines: []string{at(2, "a", "x").String(), at(1, "b", "y").String(), at(5, "a", "z").String(), at(4, "b", "w").String()},
			first: 1, last: 5, ok: true},
		{name: "junk and an unfinished line", lines: []string{"junk", at(3, "a", "x").String(), at(6, "a", "y").String(), "2024-05-06T07:08:20Z a stdout unfinish"},
			first: 3, last: 6, ok: true},
		{name: "large file read at both ends", lines: func() []string {
			var ls []string
			for i := range 10 {
				ls = append(ls, at(10+i, "a", long).String())
			}
			return ls
		}(), first: 10, last: 19, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".log")
			content := strings.Join(tt.lines, "\n")
			if len(tt.lines) > 0 && !strings.HasSuffix(tt.name, "line") {
				content += "\n"
			}
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			first, last, ok, err := Bounds(p)
			if err != nil || ok != tt.ok {
				t.Fatalf("Bounds = %v, %v, %v, %v", first, last, ok, err)
			}
			if ok && (!first.Equal(t0.Add(time.Duration(tt.first)*time.Second)) || !last.Equal(t0.Add(time.Duration(tt.last)*time.Second))) {
				t.Fatalf("Bounds = %s..%s, want %d..%d s after t0", first.Sub(t0), last.Sub(t0), tt.first, tt.last)
			}
		})
	}
	if _, _, ok, err := Bounds(filepath.Join(dir, "none.log")); ok || err != nil {
		t.Errorf("missing file: %v, %v; want not ok, no error", ok, err)
	}
}
