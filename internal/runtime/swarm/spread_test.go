package swarm

import "testing"

func TestLeastLoaded(t *testing.T) {
	for _, tc := range []struct {
		nodes []nodeLoad
		want  string
	}{
		{nil, ""},
		{[]nodeLoad{{id: "a", service: 1, all: 1}, {id: "b"}}, "b"},
		{[]nodeLoad{{id: "a", service: 0, all: 5}, {id: "b", service: 1, all: 1}}, "a"},
		{[]nodeLoad{{id: "b", service: 1, all: 3}, {id: "a", service: 1, all: 2}}, "a"},
		{[]nodeLoad{{id: "b", service: 1, all: 2}, {id: "a", service: 1, all: 2}}, "a"},
		// A deployment's second new instance goes beside the old one, not
		// beside the first new one.
		{[]nodeLoad{{id: "a", service: 1, all: 1}, {id: "b", operation: 1, service: 1, all: 1}}, "a"},
	} {
		if got := leastLoaded(tc.nodes); got != tc.want {
			t.Errorf("leastLoaded(%v) = %q, want %q", tc.nodes, got, tc.want)
		}
	}
}
