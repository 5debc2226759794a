package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// exitError is a git invocation that exited non-zero. It keeps the exit
// code because some commands (merge-base --is-ancestor, rev-parse --quiet)
// answer through it.
type exitError struct {
	op     string // git subcommand, e.g. "fetch"
	code   int
	stderr string
}

func (e *exitError) Error() string {
	if e.stderr == "" {
		return fmt.Sprintf("git %s: exit status %d", e.op, e.code)
	}
	return fmt.Sprintf("git %s: exit status %d: %s", e.op, e.code, e.stderr)
}

// exitCode returns the exit status of a failed git command, or -1 if err is
// not one (git missing, context cancelled, ...).
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return -1
}

// maxStderr bounds how much of git's stderr ends up in an error message.
const maxStderr = 2048

// command builds a git invocation against gitDir ("" for none).
func command(ctx context.Context, gitDir string, args ...string) *exec.Cmd {
	full := make([]string, 0, len(args)+1)
	if gitDir != "" {
		full = append(full, "--git-dir="+gitDir)
	}
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Env = environ()
	// Killing git leaves children (ssh, remote helpers) that may hold our
	// pipes open; don't wait on them forever.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run executes git and returns its stdout.
func run(ctx context.Context, gitDir string, args ...string) ([]byte, error) {
	cmd := command(ctx, gitDir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, wrapRunError(ctx, subcommand(args), err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

func wrapRunError(ctx context.Context, op string, err error, stderr []byte) error {
	if ctx.Err() != nil {
		return fmt.Errorf("git %s: %w", op, ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg := strings.TrimSpace(string(stderr))
		if len(msg) > maxStderr {
			msg = msg[:maxStderr] + "..."
		}
		return &exitError{op: op, code: ee.ExitCode(), stderr: msg}
	}
	return fmt.Errorf("git %s: %w", op, err)
}

// subcommand names the git verb in args, skipping global options.
func subcommand(args []string) string {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return "git"
}

// environ is the environment for every git invocation: never prompt (a
// daemon has no terminal, a prompt would hang the fetch forever) and never
// be redirected to another repository by variables inherited from a caller
// such as a git hook.
// allowedProtocols are the transports git may use for a RepositoryUrl.
const allowedProtocols = "file:git:http:https:ssh"

func environ() []string {
	drop := map[string]bool{
		"GIT_DIR": true, "GIT_WORK_TREE": true, "GIT_INDEX_FILE": true,
		"GIT_OBJECT_DIRECTORY": true, "GIT_ALTERNATE_OBJECT_DIRECTORIES": true,
		"GIT_COMMON_DIR": true, "GIT_NAMESPACE": true, "GIT_CEILING_DIRECTORIES": true,
		"GIT_TERMINAL_PROMPT": true, "LC_ALL": true, "GIT_ALLOW_PROTOCOL": true,
	}
	env := make([]string, 0, len(os.Environ())+3)
	hasSSH := false
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		if k == "GIT_SSH_COMMAND" || k == "GIT_SSH" {
			hasSSH = true
		}
		env = append(env, kv)
	}
	// A RepositoryUrl reaches only real transports: remote helpers such as
	// fd:: or ext:: would run or hang on what a client wrote.
	env = append(env, "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_ALLOW_PROTOCOL="+allowedProtocols)
	if !hasSSH {
		// ssh asks for passwords and host-key confirmation on the tty.
		env = append(env, "GIT_SSH_COMMAND=ssh -o BatchMode=yes")
	}
	return env
}

// checkArg rejects values that git would parse as options, or that cannot
// be passed on a command line.
func checkArg(name, v string) error {
	if v == "" {
		return fmt.Errorf("empty %s", name)
	}
	if strings.HasPrefix(v, "-") || strings.ContainsRune(v, 0) {
		return fmt.Errorf("invalid %s %q", name, v)
	}
	return nil
}

// drain discards what is left of r so that a writer blocked on a pipe can
// finish.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, r) }
