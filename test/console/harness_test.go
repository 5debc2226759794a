package console

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/test/testenv"
)

var (
	binary   string
	chromium string
	repoRoot = testenv.RepoRoot()
)

func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir, err := os.MkdirTemp("", "slipway-console-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if binary, err = testenv.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The browser test needs the real tools: fail, never skip.
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		fmt.Fprintf(os.Stderr, "console tests need Debian's chromium (apt-get install chromium) at %s or $CHROMIUM: %v\n", chromium, err)
		os.Exit(1)
	}
	if err := testenv.Need("git", "python3"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startServer starts slipway with a fresh data directory. Branch polling
// is off, so only the console's Deploy button deploys new commits.
func startServer(t *testing.T) *testenv.Server {
	t.Helper()
	return testenv.Start(t, binary, "--git-poll-interval", "0", "--deploy-timeout", "30s")
}

// consoleURL runs `slipway console-url`.
func consoleURL(t *testing.T, s *testenv.Server) string {
	t.Helper()
	out, err := s.Slipway("console-url")
	if err != nil {
		t.Fatalf("slipway console-url: %v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

// get fetches path from a service through the router; a failed request
// reads as status 0 with the error as its body.
func get(s *testenv.Server, serviceURL, path string) (int, string) {
	code, body, err := s.Get(serviceURL, path)
	if err != nil {
		return 0, err.Error()
	}
	return code, body
}

var newGitRepo = testenv.NewGitRepo
