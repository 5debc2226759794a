package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/failpoint"
	"github.com/slipwayhq/slipway/test/testenv"
)

// decision is one entry of `slipway deployments --json`.
type decision struct {
	Commit      string `json:"commit"`
	Decision    string `json:"decision"`
	Reason      string `json:"reason"`
	OperationID string `json:"operationId"`
	Trigger     string `json:"trigger"`
	Message     string `json:"message"`
}

func decisions(t *testing.T, s *testenv.Server, service string) []decision {
	t.Helper()
	out, err := s.Slipway("deployments", service, "--json")
	if err != nil {
		t.Fatalf("slipway deployments %s: %v\n%s", service, err, out)
	}
	var ds []decision
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("slipway deployments %s --json: %v\n%s", service, err, out)
	}
	return ds
}

// waitDecision waits until the decision log of service has an entry for
// commit.
func waitDecision(t *testing.T, s *testenv.Server, service, commit string, timeout time.Duration) decision {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, d := range decisions(t, s, service) {
			if d.Commit == commit {
				return d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no decision about %s for %s within %s; log: %+v", commit[:12], service, timeout, decisions(t, s, service))
	return decision{}
}

// deployments counts a service's START_DEPLOYMENT operations and waits
// until none is unfinished.
func deployments(t *testing.T, s *testenv.Server, arn string) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, busy := 0, false
		for _, o := range s.MustAWS("list-operations", "--service-arn", arn)["OperationSummaryList"].([]any) {
			op := o.(map[string]any)
			if op["Type"] == "START_DEPLOYMENT" {
				n++
			}
			switch op["Status"] {
			case "PENDING", "IN_PROGRESS", "ROLLBACK_IN_PROGRESS":
				busy = true
			}
		}
		if !busy {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("operations of %s still running after 60s", arn)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type autoServices struct {
	apiARN, webARN, rootARN, apiURL, webURL, rootURL string
}

// createAutoServices creates, with automatic deployments on, one service
// at services/api, one at services/web and one at the repository root.
func createAutoServices(t *testing.T, s *testenv.Server, repo *testenv.GitRepo) autoServices {
	auto := func(src map[string]any) string {
		src["AutoDeploymentsEnabled"] = true
		return mustJSON(t, src)
	}
	root := apiValuesSource(repo, "/", map[string]any{"Runtime": "PYTHON_3", "StartCommand": "python3 services/web/app.py",
		"RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "root"}})
	var a autoServices
	out := s.MustAWS("create-service", "--service-name", "api-svc", "--source-configuration", auto(apiSource(repo)))
	a.apiARN, a.apiURL = str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	out = s.MustAWS("create-service", "--service-name", "web-svc", "--source-configuration", auto(webSource(repo)))
	a.webARN, a.webURL = str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	out = s.MustAWS("create-service", "--service-name", "root-svc", "--source-configuration", auto(root))
	a.rootARN, a.rootURL = str(out, "Service", "ServiceArn"), str(out, "Service", "ServiceUrl")
	for _, arn := range []string{a.apiARN, a.webARN, a.rootARN} {
		s.WaitStatus(arn, "RUNNING", 60*time.Second)
	}
	return a
}

// TestAutoDeployPolling checks App Runner's deployment rules with 1 s
// polling: a commit deploys a service only if it changes files under its
// source directory; the root counts every commit.
func TestAutoDeployPolling(t *testing.T) {
	s := startServer(t, "--git-poll-interval", "1s")
	repo := monorepo(t)
	if err := os.WriteFile(filepath.Join(s.DataDir, "secrets", "greeting"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := createAutoServices(t, s, repo)
	base := map[string]int{"api": deployments(t, s, a.apiARN), "web": deployments(t, s, a.webARN), "root": deployments(t, s, a.rootARN)}

	// A commit touching only services/web deploys web and root, not api.
	repo.Write("services/web/version.txt", "v2\n")
	c := repo.Commit("web v2")
	if d := waitDecision(t, s, "api-svc", c, 20*time.Second); d.Decision != "skip" || !strings.Contains(d.Reason, "none under services/api") {
		t.Errorf("api decision on a web-only commit = %+v, want skip: none under services/api", d)
	}
	for _, svc := range []string{"web-svc", "root-svc"} {
		if d := waitDecision(t, s, svc, c, 20*time.Second); d.Decision != "deploy" || d.OperationID == "" {
			t.Errorf("%s decision on a web commit = %+v, want deploy with an operation", svc, d)
		}
	}
	if got := deployments(t, s, a.apiARN); got != base["api"] {
		t.Errorf("api has %d deployments after a web-only commit, want %d", got, base["api"])
	}
	if got := deployments(t, s, a.webARN); got != base["web"]+1 {
		t.Errorf("web has %d deployments, want %d", got, base["web"]+1)
	}
	if got := deployments(t, s, a.rootARN); got != base["root"]+1 {
		t.Errorf("root has %d deployments, want %d", got, base["root"]+1)
	}
	expectBody(t, s, a.webURL, "web v2")
	expectBody(t, s, a.rootURL, "root v2")
	expectBody(t, s, a.apiURL, "api v1")

	// A manual deployment of api after the web-only commit deploys anyway.
	op := s.MustAWS("start-deployment", "--service-arn", a.apiARN)["OperationId"].(string)
	if st := s.WaitOperation(a.apiARN, op, 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("manual deployment ended %s", st)
	}

	// A commit in services/api deploys api and root, not web.
	repo.Write("services/api/version.txt", "v3\n")
	c = repo.Commit("api v3")
	if d := waitDecision(t, s, "web-svc", c, 20*time.Second); d.Decision != "skip" {
		t.Errorf("web decision on an api commit = %+v, want skip", d)
	}
	for _, svc := range []string{"api-svc", "root-svc"} {
		if d := waitDecision(t, s, svc, c, 20*time.Second); d.Decision != "deploy" {
			t.Errorf("%s decision on an api commit = %+v, want deploy", svc, d)
		}
	}
	deployments(t, s, a.apiARN)
	expectBody(t, s, a.apiURL, "api v3")

	// A paused service is left alone; resume runs what ran; the next
	// qualifying commit deploys.
	s.MustAWS("pause-service", "--service-arn", a.webARN)
	s.WaitStatus(a.webARN, "PAUSED", 30*time.Second)
	repo.Write("services/web/version.txt", "v4-while-paused\n")
	c = repo.Commit("web while paused")
	if d := waitDecision(t, s, "web-svc", c, 20*time.Second); d.Decision != "skip" || !strings.Contains(d.Reason, "paused") {
		t.Errorf("paused web decision = %+v, want skip: paused", d)
	}
	s.MustAWS("resume-service", "--service-arn", a.webARN)
	s.WaitStatus(a.webARN, "RUNNING", 30*time.Second)
	expectBody(t, s, a.webURL, "web v2")
	time.Sleep(1500 * time.Millisecond)
	if _, body, _ := s.Get(a.webURL, "/"); !strings.Contains(body, "web v2") {
		t.Errorf("after resume web serves %q: a commit made while paused was deployed", body)
	}
	repo.Write("services/web/version.txt", "v5\n")
	c = repo.Commit("web v5 after resume")
	if d := waitDecision(t, s, "web-svc", c, 20*time.Second); d.Decision != "deploy" {
		t.Errorf("web decision after resume = %+v, want deploy", d)
	}
	deployments(t, s, a.webARN)
	expectBody(t, s, a.webURL, "web v5")

	checkRapidCommits(t, s, repo, a)

	// kill -9 while a qualifying commit is waiting to be noticed: the
	// restarted daemon still deploys it.
	s.Kill()
	repo.Write("services/api/version.txt", "v20\n")
	c = repo.Commit("api v20 while the daemon is down")
	s.Restart()
	if d := waitDecision(t, s, "api-svc", c, 20*time.Second); d.Decision != "deploy" {
		t.Errorf("decision after restart = %+v, want deploy", d)
	}
	expectBodyWithin(t, s, a.apiURL, "api v20", 60*time.Second)

	// kill -9 at each step after a qualifying commit (fetched, decided,
	// recorded, deploying it): every one is deployed after the restart.
	for i, point := range []string{"autodeploy.fetched", "autodeploy.decided", "autodeploy.recorded", "autodeploy.recorded>deploy.after-build"} {
		v := fmt.Sprintf("v3%d", i)
		s.Stop()
		s.RestartWith(failpoint.EnvVar + "=" + point)
		repo.Write("services/api/version.txt", v+"\n")
		repo.Commit("api " + v)
		if !s.WaitExit(30 * time.Second) {
			t.Fatalf("the daemon did not reach failpoint %s within 30s", point)
		}
		s.Restart()
		expectBodyWithin(t, s, a.apiURL, "api "+v, 60*time.Second)
	}

	// An update that changes the source directory deploys it, and later
	// decisions use the new directory.
	deployments(t, s, a.rootARN)
	moved := apiValuesSource(repo, "services/web", map[string]any{"Runtime": "PYTHON_3", "StartCommand": "python3 app.py",
		"RuntimeEnvironmentVariables": map[string]any{"APP_NAME": "root"}})
	moved["AutoDeploymentsEnabled"] = true
	op = s.MustAWS("update-service", "--service-arn", a.rootARN, "--source-configuration", mustJSON(t, moved))["OperationId"].(string)
	if st := s.WaitOperation(a.rootARN, op, 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("moving root-svc to services/web ended %s", st)
	}
	repo.Write("services/api/version.txt", "v40\n")
	c = repo.Commit("api v40")
	if d := waitDecision(t, s, "root-svc", c, 20*time.Second); d.Decision != "skip" || !strings.Contains(d.Reason, "none under services/web") {
		t.Errorf("root-svc (now services/web) decision on an api commit = %+v, want skip", d)
	}

	out, err := s.Slipway("deployments", "api-svc")
	if err != nil || !strings.Contains(out, "DECISION") || !strings.Contains(out, "none under services/api") {
		t.Errorf("slipway deployments table:\n%s (%v)", out, err)
	}
	t.Logf("slipway deployments api-svc:\n%s", out)
}

// checkRapidCommits makes ten qualifying commits in quick succession.
// How many polls see which of them depends on timing, so it checks what
// must hold whatever the timing: the decisions are about ever newer
// commits, each a deploy with an operation, the last about the final head;
// a decision joins the deployment already waiting (one follow-up at most),
// so each operation serves one run of consecutive decisions, nothing goes
// back to an earlier operation, and each deploys the newest commit decided
// for it; no deployment comes from elsewhere; the final head serves.
func checkRapidCommits(t *testing.T, s *testenv.Server, repo *testenv.GitRepo, a autoServices) {
	t.Helper()
	before := deployments(t, s, a.apiARN)
	rapid := map[string]int{}
	var head string
	// 200 ms apart, so that polls see several of them, some while a
	// deployment runs.
	for i := range 10 {
		repo.Write("services/api/version.txt", fmt.Sprintf("v1%d\n", i))
		head = repo.Commit(fmt.Sprintf("rapid %d", i))
		rapid[head] = i
		time.Sleep(200 * time.Millisecond)
	}
	waitDecision(t, s, "api-svc", head, 20*time.Second)
	expectBodyWithin(t, s, a.apiURL, "api v19", 60*time.Second)
	total := deployments(t, s, a.apiARN)

	// The decision log is newest first; ds is oldest first.
	var ds []decision
	for _, d := range slices.Backward(decisions(t, s, "api-svc")) {
		if _, ok := rapid[d.Commit]; ok {
			ds = append(ds, d)
		}
	}
	if len(ds) == 0 || ds[len(ds)-1].Commit != head {
		t.Fatalf("the last decision about the rapid commits is not about the final head %s: %+v", head[:12], ds)
	}
	var runs []decision // the last decision of each operation's run
	seen := map[string]bool{}
	for i, d := range ds {
		if d.Decision != "deploy" || d.OperationID == "" {
			t.Errorf("decision about rapid commit %d = %+v, want deploy with an operation", rapid[d.Commit], d)
		}
		if i > 0 && rapid[d.Commit] <= rapid[ds[i-1].Commit] {
			t.Errorf("a decision about rapid commit %d came after one about commit %d", rapid[d.Commit], rapid[ds[i-1].Commit])
		}
		if i > 0 && d.OperationID == ds[i-1].OperationID {
			runs[len(runs)-1] = d
			continue
		}
		if seen[d.OperationID] {
			t.Errorf("rapid commit %d joined operation %s after a newer operation began", rapid[d.Commit], d.OperationID)
		}
		seen[d.OperationID] = true
		runs = append(runs, d)
	}
	if got := total - before; got != len(runs) {
		t.Errorf("ten rapid commits made %d deployments, and the decisions name %d operations: %+v", got, len(runs), ds)
	}
	status := map[string]string{}
	for _, o := range s.MustAWS("list-operations", "--service-arn", a.apiARN)["OperationSummaryList"].([]any) {
		op := o.(map[string]any)
		status[op["Id"].(string)], _ = op["Status"].(string)
	}
	for _, d := range runs {
		if st := status[d.OperationID]; st != "SUCCEEDED" {
			t.Errorf("operation %s of rapid commit %d ended %q, want SUCCEEDED", d.OperationID, rapid[d.Commit], st)
		}
		if logs := s.Logs("api-svc", d.OperationID); !strings.Contains(logs, "automatic deployment of commit "+d.Commit) {
			t.Errorf("operation %s did not deploy rapid commit %d, the newest decided for it:\n%s", d.OperationID, rapid[d.Commit], logs)
		}
	}
	t.Logf("ten rapid commits: %d decisions, %d deployments", len(ds), len(runs))
}

func expectBodyWithin(t *testing.T, s *testenv.Server, url, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var body string
	for time.Now().Before(deadline) {
		var code int
		code, body, _ = s.Get(url, "/")
		if code == 200 && strings.Contains(body, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never served %q (last %q)", url, want, body)
}

// TestAutoDeployWebhook checks push webhooks with polling off: unsigned
// pushes change nothing; signed pushes deploy by the same rules.
func TestAutoDeployWebhook(t *testing.T) {
	s := startServer(t, "--git-poll-interval", "0")
	repo := monorepo(t)
	os.WriteFile(filepath.Join(s.DataDir, "secrets", "greeting"), []byte("hi"), 0o600)
	a := createAutoServices(t, s, repo)
	secret, err := os.ReadFile(filepath.Join(s.DataDir, "webhook-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(s.DataDir, "webhook-secret")); fi.Mode().Perm() != 0o600 {
		t.Errorf("webhook-secret mode %v, want 0600", fi.Mode().Perm())
	}
	push := func(sign bool) int {
		body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main",
			"repository": map[string]any{"clone_url": "file://" + repo.Dir, "html_url": "https://example.invalid/org/mono"}})
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.API+"/webhooks/github", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("Content-Type", "application/json")
		if sign {
			mac := hmac.New(sha256.New, bytes.TrimSpace(secret))
			mac.Write(body)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		} else {
			req.Header.Set("X-Hub-Signature-256", "sha256=0000")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	webBefore, apiBefore := deployments(t, s, a.webARN), deployments(t, s, a.apiARN)

	repo.Write("services/web/version.txt", "v2\n")
	c := repo.Commit("web v2")
	if code := push(false); code != http.StatusUnauthorized {
		t.Fatalf("badly signed webhook answered %d, want 401", code)
	}
	time.Sleep(1500 * time.Millisecond)
	for _, d := range decisions(t, s, "web-svc") {
		if d.Commit == c {
			t.Fatalf("a badly signed webhook led to a decision: %+v", d)
		}
	}
	if code := push(true); code != http.StatusAccepted {
		t.Fatalf("signed webhook answered %d, want 202", code)
	}
	if d := waitDecision(t, s, "web-svc", c, 10*time.Second); d.Decision != "deploy" || d.Trigger != "webhook" {
		t.Errorf("web decision = %+v, want deploy by webhook", d)
	}
	if d := waitDecision(t, s, "api-svc", c, 10*time.Second); d.Decision != "skip" {
		t.Errorf("api decision = %+v, want skip", d)
	}
	if got := deployments(t, s, a.webARN); got != webBefore+1 {
		t.Errorf("web deployments = %d, want %d", got, webBefore+1)
	}
	if got := deployments(t, s, a.apiARN); got != apiBefore {
		t.Errorf("api deployments = %d, want %d", got, apiBefore)
	}
	expectBody(t, s, a.webURL, "web v2")
}
