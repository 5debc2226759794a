package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// onTerminal runs slipway with args under a pseudo-terminal (util-linux's
// script), as a user at a shell would, with env, and returns what the
// terminal received.
func onTerminal(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmdline := binary
	for _, a := range args {
		cmdline += " " + quoteShell(a)
	}
	cmd := exec.Command("script", "-qec", cmdline, "/dev/null")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s on a terminal: %v\n%s", cmdline, err, out)
	}
	return string(out)
}

func quoteShell(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestCLIOnATerminal checks what the client commands do for a user at a
// terminal: they find a server started with --data-dir without being told
// (it records its data directory), and what repositories and apps wrote
// (log lines, commit messages) reaches the terminal with its escape
// sequences escaped, while piped output keeps its bytes.
func TestCLIOnATerminal(t *testing.T) {
	if err := testenv.Need("script"); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--git-poll-interval", "1s")
	// A shell without SLIPWAY_DATA_DIR or --data-dir, in the server's
	// user configuration.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SLIPWAY_DATA_DIR=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_CONFIG_HOME="+s.ConfigHome)
	cmd := exec.Command(binary, "env")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "AWS_ENDPOINT_URL_APPRUNNER='http://"+s.API+"'") {
		t.Fatalf("slipway env without --data-dir: %v\n%s; want the running server's endpoint %s", err, out, s.API)
	}

	const evil = "\x1b]0;pwned\x07\x1b[2J"
	repo := newGitRepo(t)
	repo.Write("app.py", testenv.PyApp)
	repo.Write("version.txt", "v1\n")
	repo.Commit("v1")
	src := valuesSource(repo, map[string]any{
		"Runtime": "PYTHON_3", "StartCommand": "python3 app.py", "RuntimeEnvironmentVariables": map[string]any{"APP_NAME": evil + "evil"},
	})
	src["AutoDeploymentsEnabled"] = true
	created := s.MustAWS("create-service", "--service-name", "ttyapp", "--source-configuration", mustJSON(t, src),
		"--health-check-configuration", mustJSON(t, fastHealth))
	s.WaitStatus(str(created, "Service", "ServiceArn"), "RUNNING", 60*time.Second)
	repo.Write("version.txt", "v2\n")
	repo.Commit("v2 " + evil + "wiped")
	waitFor(t, "a decision about the new commit", 30*time.Second, func() bool {
		ds := decisions(t, s, "ttyapp")
		return len(ds) > 0 && strings.Contains(ds[0].Message, "wiped")
	})

	for _, args := range [][]string{{"logs", "ttyapp"}, {"deployments", "ttyapp"}} {
		got := onTerminal(t, env, args...)
		if strings.Contains(got, "\x1b") || strings.Contains(got, "\x07") {
			t.Errorf("slipway %s sent escape sequences to the terminal: %q", strings.Join(args, " "), got)
		}
		if !strings.Contains(got, `\x1b]0;pwned\x07`) {
			t.Errorf("slipway %s on a terminal does not show the escaped sequence:\n%s", strings.Join(args, " "), got)
		}
	}
	// Piped, the bytes are the app's.
	if logs := s.Logs("ttyapp", ""); !strings.Contains(logs, evil+"evil") {
		t.Errorf("piped logs lost the app's bytes:\n%q", logs)
	}
}
