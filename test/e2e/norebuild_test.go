package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestResumeDoesNotRebuild pauses and resumes a code service and proves
// that no build ran: the build command, which appends a line to a file
// outside the build for every run, ran once; the build directory is
// untouched (same files, sizes and modification times); and the resume's
// operation log starts the deployed build without a build step. A new
// commit then builds, so the counter does see builds.
func TestResumeDoesNotRebuild(t *testing.T) {
	s := startServer(t)
	repo := monorepo(t)
	counter := filepath.Join(t.TempDir(), "builds.log")
	out := s.MustAWS("create-service", "--service-name", "resume-svc",
		"--source-configuration", mustJSON(t, apiValuesSource(repo, "services/web", map[string]any{
			"Runtime":      "PYTHON_3",
			"BuildCommand": "echo built >> " + counter,
			"StartCommand": "python3 app.py",
		})),
		"--health-check-configuration", mustJSON(t, fastHealth))
	arn, url := str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	s.WaitStatus(arn, "RUNNING", 60*time.Second)
	expectBody(t, s, url, "app v1")
	if n := buildRuns(t, counter); n != 1 {
		t.Fatalf("the build command ran %d times for the first deployment, want 1", n)
	}
	builds := filepath.Join(s.DataDir, "builds", strings.Split(arn, "/")[2])
	before := treeStat(t, builds)
	if len(before) == 0 {
		t.Fatalf("no build in %s: the comparison below would prove nothing", builds)
	}
	pidBefore := servedPID(t, s, url)

	s.MustAWS("pause-service", "--service-arn", arn)
	s.WaitStatus(arn, "PAUSED", 30*time.Second)
	op := s.MustAWS("resume-service", "--service-arn", arn)["OperationId"].(string)
	if st := s.WaitOperation(arn, op, 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("resume ended %s\n%s", st, s.Logs("resume-svc", op))
	}
	s.WaitStatus(arn, "RUNNING", 5*time.Second)
	expectBody(t, s, url, "app v1")
	if pid := servedPID(t, s, url); pid == pidBefore {
		t.Fatalf("after pause and resume the same process %s serves: nothing was started again", pid)
	}

	if n := buildRuns(t, counter); n != 1 {
		t.Errorf("the build command ran %d times in all after the resume, want 1 (no rebuild)", n)
	}
	after := treeStat(t, builds)
	for p, st := range before {
		if after[p] != st {
			t.Errorf("build file %s changed by the resume: %s, was %s", p, after[p], st)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("the resume added %s to the builds", p)
		}
	}
	logs := s.Logs("resume-svc", op)
	if !strings.Contains(logs, "no rebuild") {
		t.Errorf("resume log does not say it starts the deployed build:\n%s", logs)
	}
	for _, step := range []string{"fetching", "building", "reusing build", "build finished"} {
		if strings.Contains(logs, step) {
			t.Errorf("resume log has a build step %q:\n%s", step, logs)
		}
	}

	// The counter sees builds: a new commit builds once more.
	repo.Write("services/web/version.txt", "v2\n")
	repo.Commit("web v2")
	op = s.MustAWS("start-deployment", "--service-arn", arn)["OperationId"].(string)
	if st := s.WaitOperation(arn, op, 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("deployment of v2 ended %s\n%s", st, s.Logs("resume-svc", op))
	}
	if n := buildRuns(t, counter); n != 2 {
		t.Errorf("the build command ran %d times after a new commit, want 2", n)
	}
}

// buildRuns counts the lines a build command appended to file.
func buildRuns(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Count(string(b), "built\n")
}

// treeStat maps every path under dir to its type, size and modification
// time.
func treeStat(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%v %d bytes, modified %s", fi.Mode(), fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBuildsNotShared: two services with equal sources and build inputs
// build each their own, so deleting one removes nothing the other runs:
// the other's build stays on disk, and it pauses and resumes from it.
func TestBuildsNotShared(t *testing.T) {
	s := startServer(t)
	repo := monorepo(t)
	counter := filepath.Join(t.TempDir(), "builds.log")
	src := mustJSON(t, apiValuesSource(repo, "services/web", map[string]any{
		"Runtime":      "PYTHON_3",
		"BuildCommand": "echo built >> " + counter,
		"StartCommand": "python3 app.py",
	}))
	create := func(name string) (arn, url string) {
		out := s.MustAWS("create-service", "--service-name", name, "--source-configuration", src,
			"--health-check-configuration", mustJSON(t, fastHealth))
		arn, url = str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
		s.WaitStatus(arn, "RUNNING", 60*time.Second)
		expectBody(t, s, url, "app v1")
		return arn, url
	}
	first, _ := create("shared-a")
	second, url := create("shared-b")
	if n := buildRuns(t, counter); n != 2 {
		t.Errorf("the build command ran %d times for two services, want 2: one build each", n)
	}
	builds := filepath.Join(s.DataDir, "builds", strings.Split(second, "/")[2])
	before := treeStat(t, builds)
	if len(before) <= 1 {
		t.Fatalf("no build of the second service in %s", builds)
	}

	s.MustAWS("delete-service", "--service-arn", first)
	s.WaitStatus(first, "DELETED", 30*time.Second)
	if after := treeStat(t, builds); len(after) != len(before) {
		t.Errorf("deleting the first service changed the second's builds: %d paths, were %d", len(after), len(before))
	}
	s.MustAWS("pause-service", "--service-arn", second)
	s.WaitStatus(second, "PAUSED", 30*time.Second)
	op := s.MustAWS("resume-service", "--service-arn", second)["OperationId"].(string)
	if st := s.WaitOperation(second, op, 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("resume of the second service ended %s\n%s", st, s.Logs("shared-b", op))
	}
	expectBody(t, s, url, "app v1")
	if n := buildRuns(t, counter); n != 2 {
		t.Errorf("the build command ran %d times in all, want 2: the resume rebuilt", n)
	}
}
