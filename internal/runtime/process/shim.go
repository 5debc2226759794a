package process

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
)

// ShimCommand is the slipway subcommand that runs RunShim. Its command line
// is: slipway _shim --log LOGPATH --id ID --state STATEDIR -- COMMAND ARGS...
const ShimCommand = "_shim"

// shimWaitDelay bounds how long the shim keeps reading output from processes
// the app left behind after the app itself ended.
const shimWaitDelay = 2 * time.Second

// RunShim is the entry point of the `_shim` subcommand, given the arguments
// after it; it returns the process exit status. The shim runs in the
// instance's own session, outliving the daemon that started it. It runs the
// command in a process group of its own, writes its output to the log file
// as applog lines, passes SIGTERM and SIGINT on to that group, and when the
// command ends records how in STATEDIR/<id>.exit and kills whatever the
// command left running in the session.
func RunShim(args []string) int {
	fs := flag.NewFlagSet(ShimCommand, flag.ContinueOnError)
	logPath := fs.String("log", "", "append the command's output to this `file`")
	id := fs.String("id", "", "instance ID: the log lines' source and the state files' name")
	state := fs.String("state", "", "`dir`ectory for the <id>.pid and <id>.exit files")
	var network shimNetwork
	network.register(fs)
	var limits shimLimits
	limits.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	argv := fs.Args()
	if *logPath == "" || *state == "" || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "usage: _shim --log FILE --id ID --state DIR -- COMMAND [ARGS...]")
		return 2
	}
	if err := checkID(*id); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	code, err := shim(*logPath, *id, *state, &network, &limits, argv)
	if err != nil {
		// Stderr is /dev/null when the daemon starts the shim; this is for
		// people running it by hand.
		fmt.Fprintln(os.Stderr, "slipway shim:", err)
	}
	return code
}

func shim(logPath, id, state string, network *shimNetwork, limits *shimLimits, argv []string) (int, error) {
	// Subscribe first so that a Stop right after Start is not lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	signal.Ignore(syscall.SIGHUP)

	if err := os.MkdirAll(state, 0o755); err != nil {
		return 1, err
	}
	if err := writeFileAtomic(pidFile(state, id), []byte(strconv.Itoa(os.Getpid())+"\n")); err != nil {
		return 1, err
	}
	lf, err := openLog(logPath)
	if err != nil {
		// Say why in the exit record: it is all Status can show.
		rec := exitRecord{Code: -1, Reason: fmt.Sprintf("failed to start: %v", err)}
		return 1, errors.Join(err, writeExit(state, id, rec))
	}
	defer lf.Close()
	system := applog.NewWriter(lf, id, applog.System, time.Now)
	stdout := applog.NewWriter(lf, id, applog.Stdout, time.Now)
	stderr := applog.NewWriter(lf, id, applog.Stderr, time.Now)

	// Only the command, never the environment: it holds the app's secrets.
	fmt.Fprintf(system, "starting: %s\n", display(argv))
	start := (*exec.Cmd).Start
	if network.enabled {
		start = startBounded
	}
	var rec exitRecord
	var sig syscall.Signal
	// The network first: slirp4netns must not run inside the app's limits.
	if err := errors.Join(network.setup(), limits.join()); err != nil {
		rec = exitRecord{Code: -1, Reason: fmt.Sprintf("failed to start: %v", err)}
	} else {
		rec, sig = run(argv, stdout, stderr, sigs, limits.startWith(start))
		rec = limits.verdict(rec, sig)
	}
	stdout.Close()
	stderr.Close()
	fmt.Fprintln(system, rec.Reason)
	system.Close()

	err = writeExit(state, id, rec)
	// Background processes die with the instance, as in a container. The
	// shim is its session's leader, so the session is the instance's; when
	// run by hand without one, leave the caller's session alone.
	if self := os.Getpid(); sid() == self {
		signalSession(self, self, syscall.SIGKILL)
	}
	limits.leave()
	if sig != 0 {
		return 128 + int(sig), err
	}
	return rec.Code, err
}

func openLog(path string) (*os.File, error) {
	f, err := applog.OpenAppend(path)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// run runs argv in a new process group and returns how it ended, and the
// signal that ended it, if one did.
func run(argv []string, stdout, stderr io.Writer, sigs <-chan os.Signal, start func(*exec.Cmd) error) (exitRecord, syscall.Signal) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = shimWaitDelay
	if err := start(cmd); err != nil {
		return exitRecord{Code: 127, Reason: fmt.Sprintf("failed to start: %v", err)}, 0
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			// To the group, so the app's own children hear it too.
			_ = syscall.Kill(-cmd.Process.Pid, s.(syscall.Signal))
		case err := <-done:
			if cmd.ProcessState == nil {
				return exitRecord{Code: -1, Reason: fmt.Sprintf("wait failed: %v", err)}, 0
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				return exitFromStatus(ws), ws.Signal()
			}
			return exitFromStatus(ws), 0
		}
	}
}

func sid() int {
	st, err := readProcStat(os.Getpid())
	if err != nil {
		return -1
	}
	return st.sid
}

// display shows the command on one log line as a person would type it: for
// `sh -c SCRIPT` that is the script.
func display(argv []string) string {
	s := strings.Join(argv, " ")
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		s = argv[2]
	}
	return strings.ReplaceAll(s, "\n", " ")
}
