package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// EnvVar names the point to kill at: "point" (its first hit), "point:n" (its
// n-th hit), or a chain "a>b:n" whose last step kills once the steps before
// it were hit in order (e.g. "deploy.health-passed>store.before-commit": the
// first commit after the health check passed).
const EnvVar = "SLIPWAY_FAILPOINT"

type step struct {
	name  string
	count int
}

// plan is nil unless EnvVar is set, so Hit costs a nil check in a normal
// daemon; it is never changed after init but by tests.
var plan []step

var (
	mu sync.Mutex
	// at is the step waited for, and hits how often it was hit so far.
	at, hits int
)

// kill ends the process as kill -9 would; tests replace it.
var kill = func(name string) {
	fmt.Fprintf(os.Stderr, "failpoint: killing the process at %s\n", name)
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL may take a moment to land; nothing runs on meanwhile
}

func init() {
	var err error
	if plan, err = parse(os.Getenv(EnvVar)); err != nil {
		// A typo would otherwise make a crash test pass by never killing.
		fmt.Fprintf(os.Stderr, "%s: %v\n", EnvVar, err)
		os.Exit(2)
	}
}

// parse reads EnvVar's value; "" is no plan.
func parse(spec string) ([]step, error) {
	if spec == "" {
		return nil, nil
	}
	var steps []step
	for part := range strings.SplitSeq(spec, ">") {
		name, n, hasCount := strings.Cut(strings.TrimSpace(part), ":")
		s := step{name: name, count: 1}
		if hasCount {
			c, err := strconv.Atoi(n)
			if err != nil || c < 1 {
				return nil, fmt.Errorf("%q: the count after %s: must be a positive number", spec, name)
			}
			s.count = c
		}
		if s.name == "" {
			return nil, fmt.Errorf("%q: empty point name", spec)
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// Hit marks that the process reached point name; it kills the process if
// that completes the plan in EnvVar.
func Hit(name string) {
	if plan == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if at >= len(plan) || plan[at].name != name {
		return
	}
	if hits++; hits < plan[at].count {
		return
	}
	at, hits = at+1, 0
	if at == len(plan) {
		kill(name)
	}
}
