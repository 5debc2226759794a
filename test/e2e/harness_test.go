package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// binary is the slipway binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir, err := os.MkdirTemp("", "slipway-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if binary, err = testenv.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// These tests need the real tools: fail, never skip.
	if err := testenv.Need("aws", "git", "python3", "node", "npm", "go", "slirp4netns"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startServer starts slipway with a fresh data directory.
func startServer(t *testing.T, extra ...string) *testenv.Server {
	t.Helper()
	return testenv.Start(t, binary, extra...)
}

var (
	str        = testenv.Str
	freeAddr   = testenv.FreeAddr
	newGitRepo = testenv.NewGitRepo
)

// load sends GET requests to a service in a loop until stop is closed and
// counts the ones that did not answer 200 with a body containing one of
// the wanted strings.
type load struct {
	total, failed int
	firstFailure  string
	done          chan struct{}
}

func startLoad(ctx context.Context, s *testenv.Server, serviceURL string, want ...string) *load {
	l := &load{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ctx.Err() == nil {
			code, body, err := s.Get(serviceURL, "/")
			l.total++
			ok := err == nil && code == 200
			if ok {
				ok = false
				for _, w := range want {
					ok = ok || strings.Contains(body, w)
				}
			}
			if !ok {
				l.failed++
				if l.firstFailure == "" {
					l.firstFailure = fmt.Sprintf("code %d body %q err %v", code, body, err)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return l
}
