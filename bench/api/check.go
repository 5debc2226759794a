package main

import (
	"slices"
	"time"
)

// A tagState is a tag key's state: absent, or present with a value.
type tagState struct {
	Present bool
	Value   string
}

func (s tagState) String() string {
	if !s.Present {
		return "absent"
	}
	return "=" + s.Value
}

// A tagWrite is one TagResource (set) or UntagResource (remove) of one key,
// as the client saw it: sent at Start, answered at End.
type tagWrite struct {
	State      tagState
	Start, End time.Time
}

// allowed returns the states of one key that a read sent at start and
// answered at end may see, given the successful writes of that key (in
// any order): the state of every write that had been answered before the
// read was sent and that no other such write certainly followed (sent
// after it was answered), the state of every write in flight while the
// read was, and "absent" if no write had been answered before the read was
// sent. A store that loses or reorders writes shows something else.
//
// For the final state, pass start and end after every write was answered.
func allowed(writes []tagWrite, start, end time.Time) []tagState {
	var out []tagState
	var done []tagWrite
	for _, w := range writes {
		switch {
		case w.End.Before(start):
			done = append(done, w)
		case w.Start.Before(end):
			out = append(out, w.State) // concurrent with the read
		}
	}
	if len(done) == 0 {
		out = append(out, tagState{})
	}
	for _, w := range done {
		superseded := slices.ContainsFunc(done, func(o tagWrite) bool { return w.End.Before(o.Start) })
		if !superseded {
			out = append(out, w.State)
		}
	}
	return out
}

// consistent reports whether a read of one key, sent at start and
// answered at end, that saw got, agrees with the writes.
func consistent(writes []tagWrite, start, end time.Time, got tagState) bool {
	return slices.Contains(allowed(writes, start, end), got)
}
