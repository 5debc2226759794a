package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	"github.com/slipwayhq/slipway/internal/runtime"
)

// The test binary is its own shim, as the slipway binary is in production.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ShimCommand {
		os.Exit(RunShim(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func newBackend(t *testing.T, dir string) *Backend {
	t.Helper()
	b := New(Config{Dir: dir, ShimPath: os.Args[0]}, nil)
	t.Cleanup(func() { b.Close() })
	return b
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		spec     runtime.BuildSpec
		toolname string // overrides the PYTHON_3 toolchain
		wantErr  error
		wantMsg  string
		wantLog  string
	}{
		{
			name:    "success in workdir with env",
			spec:    runtime.BuildSpec{WorkDir: "services/api", Runtime: "PYTHON_3", Commands: []string{"echo building $GREETING", "pwd >&2"}, Env: map[string]string{"GREETING": "hello"}},
			wantLog: "building hello\n",
		},
		{
			name:    "failing command",
			spec:    runtime.BuildSpec{Commands: []string{"true", "echo half; exit 3", "echo never"}},
			wantErr: runtime.ErrBuildFailed,
			wantMsg: `build command 2 ("echo half; exit 3") exited with code 3`,
			wantLog: "half\n",
		},
		{
			name:     "missing toolchain",
			spec:     runtime.BuildSpec{Runtime: "PYTHON_3", Commands: []string{"echo never"}},
			toolname: "no-such-python-slipway",
			wantErr:  runtime.ErrToolchainMissing,
			wantMsg:  `runtime PYTHON_3 needs "no-such-python-slipway" on the host PATH, but it was not found`,
		},
		{
			name:    "unknown runtime",
			spec:    runtime.BuildSpec{Runtime: "COBOL_1"},
			wantErr: runtime.ErrToolchainMissing,
		},
		{
			name:    "missing workdir",
			spec:    runtime.BuildSpec{WorkDir: "services/none", Commands: []string{"echo never"}},
			wantMsg: `source directory "services/none" does not exist in the repository`,
		},
		{
			name:    "workdir outside the repository",
			spec:    runtime.BuildSpec{WorkDir: "../etc", Commands: []string{"echo never"}},
			wantMsg: "not inside the repository",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(Config{Dir: t.TempDir(), Toolchains: map[string]string{"PYTHON_3": tt.toolname}}, nil)
			if tt.toolname == "" {
				b = New(Config{Dir: t.TempDir()}, nil)
			}
			t.Cleanup(func() { b.Close() })
			src := t.TempDir()
			os.MkdirAll(filepath.Join(src, "services/api"), 0o755)
			tt.spec.SourceDir = src
			tt.spec.Key = "k1"
			var log bytes.Buffer
			art, err := b.Build(t.Context(), tt.spec, &log)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Build err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.wantMsg)) {
				t.Fatalf("Build err = %v, want it to say %q", err, tt.wantMsg)
			}
			if tt.wantErr == nil && tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				want := runtime.Artifact{Backend: "process", Key: "k1", Path: src, Runtime: tt.spec.Runtime}
				if art != want {
					t.Fatalf("artifact = %+v, want %+v", art, want)
				}
				if !strings.Contains(log.String(), filepath.Join(src, tt.spec.WorkDir)) {
					t.Errorf("build did not run in the work dir; log %q", log.String())
				}
			}
			if !strings.Contains(log.String(), tt.wantLog) || strings.Contains(log.String(), "never") {
				t.Fatalf("log = %q, want it to contain %q", log.String(), tt.wantLog)
			}
		})
	}
}

func TestBuildIdempotent(t *testing.T) {
	b := newBackend(t, t.TempDir())
	src := t.TempDir()
	spec := runtime.BuildSpec{Key: "k1", SourceDir: src, Commands: []string{"echo x >> count"}}
	for range 2 {
		if _, err := b.Build(t.Context(), spec, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(src, "count")); string(got) != "x\n" {
		t.Fatalf("after two builds with one key, count = %q, want one run", got)
	}
	spec.Key = "k2"
	if _, err := b.Build(t.Context(), spec, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(src, "count")); string(got) != "x\nx\n" {
		t.Fatalf("after a build with a new key, count = %q, want two runs", got)
	}
}

func TestBuildCancel(t *testing.T) {
	b := newBackend(t, t.TempDir())
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Build(ctx, runtime.BuildSpec{Key: "k", SourceDir: t.TempDir(), Commands: []string{"sleep 30 & sleep 30"}}, io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Build = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancelled build took %s", d)
	}
}

func TestRemoveArtifact(t *testing.T) {
	b := newBackend(t, t.TempDir())
	dir := filepath.Join(t.TempDir(), "art")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	if err := b.RemoveArtifact(t.Context(), runtime.Artifact{Path: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("artifact still there: %v", err)
	}
	for _, p := range []string{"", "/", "//"} {
		if err := b.RemoveArtifact(t.Context(), runtime.Artifact{Path: p}); err == nil {
			t.Errorf("RemoveArtifact(%q) succeeded, want refusal", p)
		}
	}
}

// start starts an instance and makes sure every process it made is gone
// when the test ends.
func start(t *testing.T, b *Backend, spec runtime.InstanceSpec) runtime.Instance {
	t.Helper()
	if spec.ID == "" {
		spec.ID = "i-" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")
	}
	if spec.Artifact.Path == "" {
		spec.Artifact = runtime.Artifact{Backend: "process", Key: "k", Path: t.TempDir()}
	}
	if spec.LogPath == "" {
		spec.LogPath = filepath.Join(t.TempDir(), "logs", spec.ID+".log")
	}
	inst, err := b.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		// A fresh Backend, as the test's may be closed; Stop kills only the
		// instance's own session.
		nb := New(b.cfg, nil)
		defer nb.Close()
		if err := nb.Stop(context.Background(), inst, 0); err != nil {
			t.Errorf("cleanup Stop: %v", err)
		}
	})
	return inst
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func status(t *testing.T, b *Backend, inst runtime.Instance) runtime.State {
	t.Helper()
	st, err := b.Status(t.Context(), inst)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

func waitEnded(t *testing.T, b *Backend, inst runtime.Instance) runtime.State {
	t.Helper()
	var st runtime.State
	waitFor(t, "instance to end", func() bool { st = status(t, b, inst); return !st.Running })
	return st
}

func get(addr string) (string, error) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/hello.txt")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

func readLog(t *testing.T, path string) []applog.Entry {
	t.Helper()
	es, err := applog.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func hasEntry(es []applog.Entry, source, stream, substr string) bool {
	for _, e := range es {
		if e.Source == source && e.Stream == stream && strings.Contains(e.Text, substr) {
			return true
		}
	}
	return false
}

// processGone reports whether pid has ended; a zombie has, even if nobody
// reaped it (in a container, PID 1 may not).
func processGone(pid int) bool {
	st, err := readProcStat(pid)
	return err != nil || st.state == 'Z'
}

const httpServer = "python3 -m http.server $PORT --bind 127.0.0.1"

func TestInstanceServesAndStops(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	art := runtime.Artifact{Backend: "process", Key: "k", Path: t.TempDir(), Runtime: "PYTHON_3"}
	os.MkdirAll(filepath.Join(art.Path, "web"), 0o755)
	os.WriteFile(filepath.Join(art.Path, "web", "hello.txt"), []byte("hi from app"), 0o644)
	logPath := filepath.Join(t.TempDir(), "app.log")
	inst := start(t, b, runtime.InstanceSpec{
		ID: "inst-1", Artifact: art, WorkDir: "web", LogPath: logPath,
		Command: "sleep 1000 & echo $! > ../sleep.pid; " + httpServer,
	})
	if inst.ID != "inst-1" || inst.Backend != "process" || !strings.HasPrefix(inst.Addr, "127.0.0.1:") || inst.StartedAt.IsZero() {
		t.Fatalf("instance = %+v", inst)
	}
	var body string
	waitFor(t, "app to serve", func() bool { body, _ = get(inst.Addr); return body != "" })
	if body != "hi from app" {
		t.Fatalf("GET = %q", body)
	}
	if st := status(t, b, inst); !st.Running {
		t.Fatalf("Status = %+v, want running", st)
	}
	waitFor(t, "request log line", func() bool { return hasEntry(readLog(t, logPath), "inst-1", applog.Stderr, "GET /hello.txt") })
	if es := readLog(t, logPath); !hasEntry(es, "inst-1", applog.System, "starting: { sleep 1000 & echo") {
		t.Fatalf("no starting line in %+v", es)
	}

	r, _ := parseRef(inst.Ref)
	shimStat, err := readProcStat(r.pid)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := readProcStat(os.Getpid())
	if shimStat.sid == ours.sid || shimStat.sid != r.pid {
		t.Fatalf("shim session %d, ours %d: want the shim to lead its own", shimStat.sid, ours.sid)
	}
	sleepPID := readPID(t, filepath.Join(art.Path, "sleep.pid"))
	if err := b.Stop(t.Context(), inst, 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !processGone(r.pid) || !processGone(sleepPID) {
		t.Fatalf("after Stop: shim gone %v, grandchild gone %v", processGone(r.pid), processGone(sleepPID))
	}
	st := status(t, b, inst)
	if st.Running || st.ExitCode != -1 || st.Reason != "killed by signal 15" {
		t.Fatalf("Status after Stop = %+v", st)
	}
	if _, err := get(inst.Addr); err == nil {
		t.Fatal("app still serves after Stop")
	}
	if es := readLog(t, logPath); !hasEntry(es, "inst-1", applog.System, "killed by signal 15") {
		t.Fatalf("no exit line in log")
	}
	// Stop is idempotent.
	if err := b.Stop(t.Context(), inst, time.Second); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, path, func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		name       string
		preRun     []string
		command    string
		wantCode   int
		wantReason string
		wantLog    string
	}{
		{"exit code", nil, "echo bye; exit 3", 3, "exited with code 3", "bye"},
		{"clean exit", nil, "true", 0, "exited with code 0", ""},
		{"pre-run commands run first, in the work dir", []string{"echo one > pre.txt", "echo two >> pre.txt"}, "cat pre.txt", 0, "exited with code 0", "two"},
		{"failing pre-run stops the start", []string{"exit 7"}, "echo never", 7, "exited with code 7", ""},
		{"killed by a signal", nil, "kill -9 $$", -1, "killed by signal 9", ""},
		{"command not found", nil, "no-such-command-slipway", 127, "exited with code 127", "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, t.TempDir())
			logPath := filepath.Join(t.TempDir(), "x.log")
			inst := start(t, b, runtime.InstanceSpec{ID: "x", PreRun: tt.preRun, Command: tt.command, LogPath: logPath})
			st := waitEnded(t, b, inst)
			if st.ExitCode != tt.wantCode || st.Reason != tt.wantReason {
				t.Fatalf("Status = %+v, want code %d reason %q", st, tt.wantCode, tt.wantReason)
			}
			es := readLog(t, logPath)
			if !hasEntry(es, "x", applog.System, tt.wantReason) {
				t.Errorf("no system line %q in %+v", tt.wantReason, es)
			}
			if tt.wantLog != "" && !hasEntry(es, "x", applog.Stdout, tt.wantLog) && !hasEntry(es, "x", applog.Stderr, tt.wantLog) {
				t.Errorf("no output %q in %+v", tt.wantLog, es)
			}
			if hasEntry(es, "x", applog.Stdout, "never") {
				t.Errorf("command ran after a failed pre-run")
			}
		})
	}
}

func TestInstanceEnvironment(t *testing.T) {
	t.Setenv("SLIPWAY_TEST_SECRET", "daemon-secret")
	b := newBackend(t, t.TempDir())
	logPath := filepath.Join(t.TempDir(), "x.log")
	inst := start(t, b, runtime.InstanceSpec{
		ID: "env", Port: 8123, PortEnv: "HTTP_PORT", LogPath: logPath,
		Env:     map[string]string{"DB_PASSWORD": "app-secret", "HTTP_PORT": "1"},
		Command: `echo "daemon=${SLIPWAY_TEST_SECRET:-unset} db=$DB_PASSWORD port=$HTTP_PORT path=${PATH:+set}"`,
	})
	// On the host's network the instance gets a free port, not its own.
	_, port, _ := strings.Cut(inst.Addr, "127.0.0.1:")
	if port == "" || port == "8123" || inst.NetNS != "" {
		t.Fatalf("Addr = %q, NetNS = %q, want a free port on the host's network", inst.Addr, inst.NetNS)
	}
	waitEnded(t, b, inst)
	es := readLog(t, logPath)
	if !hasEntry(es, "env", applog.Stdout, "daemon=unset db=app-secret port="+port+" path=set") {
		t.Fatalf("environment wrong: %+v", es)
	}
	for _, e := range es {
		if e.Stream == applog.System && strings.Contains(e.Text, "app-secret") {
			t.Fatalf("system line shows a secret: %q", e.Text)
		}
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, dir)
	art := runtime.Artifact{Path: t.TempDir()}
	inst := start(t, b, runtime.InstanceSpec{
		ID: "stubborn", Artifact: art,
		Command: `trap "" TERM; echo $$ > app.pid; while :; do sleep 0.1; done`,
	})
	readPID(t, filepath.Join(art.Path, "app.pid"))
	begin := time.Now()
	if err := b.Stop(t.Context(), inst, 300*time.Millisecond); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(begin); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("Stop took %s, want about the grace period", d)
	}
	st := status(t, b, inst)
	if st.Running || st.ExitCode != -1 || !strings.HasPrefix(st.Reason, "killed by signal 9") {
		t.Fatalf("Status = %+v", st)
	}
}

func TestReadoption(t *testing.T) {
	dir := t.TempDir()
	old := New(Config{Dir: dir, ShimPath: os.Args[0]}, nil)
	art := runtime.Artifact{Path: t.TempDir()}
	os.WriteFile(filepath.Join(art.Path, "hello.txt"), []byte("still here"), 0o644)
	inst := start(t, old, runtime.InstanceSpec{ID: "adopted", Artifact: art, Command: httpServer})
	waitFor(t, "app to serve", func() bool { body, _ := get(inst.Addr); return body == "still here" })

	// The daemon goes away: its Backend is closed and dropped.
	old.Close()
	time.Sleep(200 * time.Millisecond)
	if body, err := get(inst.Addr); body != "still here" {
		t.Fatalf("app died with its Backend: %q, %v", body, err)
	}

	// A restarted daemon knows the instance only by its stored value.
	nb := newBackend(t, dir)
	if st := status(t, nb, inst); !st.Running {
		t.Fatalf("re-adopted Status = %+v, want running", st)
	}
	if err := nb.Stop(t.Context(), inst, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if st := status(t, nb, inst); st.Running || st.Reason != "killed by signal 15" {
		t.Fatalf("Status after Stop = %+v", st)
	}
}

func TestStatusOfUnknownInstance(t *testing.T) {
	b := newBackend(t, t.TempDir())
	tests := []struct {
		name    string
		inst    runtime.Instance
		wantErr bool
	}{
		{"no such pid", runtime.Instance{ID: "gone", Ref: "2147483646:1"}, false},
		{"pid reused by another process", runtime.Instance{ID: "gone", Ref: fmt.Sprintf("%d:1", os.Getpid())}, false},
		{"malformed ref", runtime.Instance{ID: "gone", Ref: "abc"}, true},
		{"bad id", runtime.Instance{ID: "../x", Ref: "2147483646:1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := b.Status(t.Context(), tt.inst)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Status err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			want := runtime.State{ExitCode: -1, Reason: "ended (no exit status recorded)"}
			if st != want {
				t.Fatalf("Status = %+v, want %+v", st, want)
			}
			// Stopping something that is not ours is a no-op, not a kill.
			if err := b.Stop(t.Context(), tt.inst, time.Second); err != nil {
				t.Fatalf("Stop: %v", err)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	b := New(Config{Dir: t.TempDir(), ShimPath: os.Args[0], Toolchains: map[string]string{"NODEJS_18": "no-such-node-slipway"}}, nil)
	t.Cleanup(func() { b.Close() })
	art := runtime.Artifact{Path: t.TempDir()}
	tests := []struct {
		name    string
		spec    runtime.InstanceSpec
		wantErr error
	}{
		{"missing toolchain", runtime.InstanceSpec{ID: "a", Artifact: runtime.Artifact{Path: art.Path, Runtime: "NODEJS_18"}, Command: "node ."}, runtime.ErrToolchainMissing},
		{"bad id", runtime.InstanceSpec{ID: "a b", Artifact: art, Command: "true"}, nil},
		{"no command", runtime.InstanceSpec{ID: "a", Artifact: art}, nil},
		{"missing workdir", runtime.InstanceSpec{ID: "a", Artifact: art, WorkDir: "nope", Command: "true"}, nil},
		{"other backend's artifact", runtime.InstanceSpec{ID: "a", Artifact: runtime.Artifact{Backend: "docker", Path: "img"}, Command: "true"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Start(t.Context(), tt.spec)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Start err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name string
		line string
		want procStat
		ok   bool
	}{
		{
			name: "command with spaces and parentheses",
			line: "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615",
			want: procStat{state: 'S', pgrp: 4242, sid: 4242, starttime: 987654},
			ok:   true,
		},
		{name: "zombie", line: "7 (x) Z 1 7 6 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0 0", want: procStat{state: 'Z', pgrp: 7, sid: 6, starttime: 55}, ok: true},
		{name: "truncated", line: "7 (x) S 1 7", ok: false},
		{name: "no command", line: "7 x S", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStat([]byte(tt.line))
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("parseProcStat = %+v, %v; want %+v, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestShimUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"--id", "x", "--", "true"}, {"--log", "/dev/null", "--state", "/tmp", "--id", "a b", "--", "true"}} {
		if code := RunShim(args); code != 2 {
			t.Errorf("RunShim(%q) = %d, want 2", args, code)
		}
	}
}

func TestEndedShimIsReaped(t *testing.T) {
	b := newBackend(t, t.TempDir())
	inst := start(t, b, runtime.InstanceSpec{ID: "short", Command: "true"})
	r, _ := parseRef(inst.Ref)
	// Nobody asks for its status: the reaper alone must collect it, or
	// every ended instance would leave a zombie while the daemon runs.
	waitFor(t, "shim to be reaped", func() bool {
		_, err := readProcStat(r.pid)
		return errors.Is(err, errNoProcess)
	})
	if st := status(t, b, inst); st.Running || st.Reason != "exited with code 0" {
		t.Fatalf("Status = %+v", st)
	}
}

func TestShimCannotOpenLog(t *testing.T) {
	b := newBackend(t, t.TempDir())
	// A directory where the log file should be: Start cannot tell, the shim can.
	inst := start(t, b, runtime.InstanceSpec{ID: "nolog", Command: "true", LogPath: t.TempDir()})
	st := waitEnded(t, b, inst)
	if st.ExitCode != -1 || !strings.HasPrefix(st.Reason, "failed to start: open log:") {
		t.Fatalf("Status = %+v", st)
	}
}
