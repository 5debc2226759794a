package main

import (
	"testing"
	"time"
)

func TestConsistent(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	set := func(v string, start, end int) tagWrite {
		return tagWrite{State: tagState{Present: true, Value: v}, Start: at(start), End: at(end)}
	}
	del := func(start, end int) tagWrite { return tagWrite{Start: at(start), End: at(end)} }
	absent := tagState{}
	val := func(v string) tagState { return tagState{Present: true, Value: v} }
	tests := []struct {
		name       string
		writes     []tagWrite
		start, end int
		got        tagState
		want       bool
	}{
		{"never written", nil, 10, 11, absent, true},
		{"never written, a value appears", nil, 10, 11, val("a"), false},
		{"written before", []tagWrite{set("a", 0, 1)}, 10, 11, val("a"), true},
		{"write lost", []tagWrite{set("a", 0, 1)}, 10, 11, absent, false},
		{"newest of two", []tagWrite{set("a", 0, 1), set("b", 2, 3)}, 10, 11, val("b"), true},
		{"older of two: reordered", []tagWrite{set("a", 0, 1), set("b", 2, 3)}, 10, 11, val("a"), false},
		{"removed", []tagWrite{set("a", 0, 1), del(2, 3)}, 10, 11, absent, true},
		{"removal lost", []tagWrite{set("a", 0, 1), del(2, 3)}, 10, 11, val("a"), false},
		{"overlapping writes: either", []tagWrite{set("a", 0, 5), set("b", 1, 6)}, 10, 11, val("a"), true},
		{"overlapping writes: the other", []tagWrite{set("a", 0, 5), set("b", 1, 6)}, 10, 11, val("b"), true},
		{"in flight during the read: old", []tagWrite{set("a", 0, 1), set("b", 9, 12)}, 10, 11, val("a"), true},
		{"in flight during the read: new", []tagWrite{set("a", 0, 1), set("b", 9, 12)}, 10, 11, val("b"), true},
		{"sent after the read was answered", []tagWrite{set("a", 0, 1), set("b", 12, 13)}, 10, 11, val("b"), false},
		{"first write in flight", []tagWrite{set("a", 9, 12)}, 10, 11, absent, true},
	}
	for _, tc := range tests {
		if got := consistent(tc.writes, at(tc.start), at(tc.end), tc.got); got != tc.want {
			t.Errorf("%s: consistent(%v) = %v, want %v (allowed %v)", tc.name, tc.got, got, tc.want,
				allowed(tc.writes, at(tc.start), at(tc.end)))
		}
	}
}
