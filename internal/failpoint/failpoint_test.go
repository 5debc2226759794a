package failpoint

import (
	"slices"
	"testing"
)

func TestHit(t *testing.T) {
	tests := []struct {
		spec string
		hits []string
		want int // index of the hit that kills; -1 for none
	}{
		{"", []string{"a", "b"}, -1},
		{"a", []string{"b", "a", "a"}, 1},
		{"a:3", []string{"a", "b", "a", "a"}, 3},
		{"a>b", []string{"b", "a", "c", "b"}, 3},
		{"a>b:2", []string{"b", "a", "b", "a", "b"}, 4},
		{"a>b", []string{"b", "c"}, -1},
	}
	for _, tt := range tests {
		steps, err := parse(tt.spec)
		if err != nil {
			t.Fatalf("parse(%q): %v", tt.spec, err)
		}
		plan, at, hits = steps, 0, 0
		killed := -1
		i := 0
		kill = func(name string) {
			if killed < 0 {
				killed = i
			}
		}
		for i = range tt.hits {
			Hit(tt.hits[i])
		}
		if killed != tt.want {
			t.Errorf("%q with hits %v: killed at hit %d, want %d", tt.spec, tt.hits, killed, tt.want)
		}
	}
	plan = nil
}

func TestParseErrors(t *testing.T) {
	for _, spec := range []string{"a:0", "a:x", "a>", ">a", "a:-1"} {
		if _, err := parse(spec); err == nil {
			t.Errorf("parse(%q) = nil error, want one", spec)
		}
	}
	got, err := parse("deploy.health-passed > store.before-commit:2")
	want := []step{{"deploy.health-passed", 1}, {"store.before-commit", 2}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("parse = %v, %v; want %v", got, err, want)
	}
}
