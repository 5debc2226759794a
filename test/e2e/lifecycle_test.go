package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/test/testenv"
)

// TestLifecycle walks the foundation's whole story with the aws CLI: create
// two services from one monorepo, deploy again under load with no failed
// request, roll back a broken deploy while the old version keeps serving,
// pause, resume and delete.
func TestLifecycle(t *testing.T) {
	s := startServer(t)
	repo := monorepo(t)
	// The web service's GREETING comes from a secret in the data dir.
	if err := os.WriteFile(filepath.Join(s.DataDir, "secrets", "greeting"), []byte("from-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	api := s.MustAWS("create-service", "--service-name", "api-svc",
		"--source-configuration", mustJSON(t, apiSource(repo)),
		"--health-check-configuration", mustJSON(t, fastHealth))
	web := s.MustAWS("create-service", "--service-name", "web-svc",
		"--source-configuration", mustJSON(t, webSource(repo)),
		"--instance-configuration", `{"Cpu":"0.25 vCPU","Memory":"0.5 GB"}`)
	apiARN, webARN := str(api, "Service", "ServiceArn"), str(web, "Service", "ServiceArn")
	if got := str(api, "Service", "Status"); got != "OPERATION_IN_PROGRESS" {
		t.Fatalf("create-service status = %s, want OPERATION_IN_PROGRESS", got)
	}
	createOp := str(api, "OperationId")
	if !uuidRE.MatchString(createOp) {
		t.Fatalf("create-service OperationId = %q, want a UUID", createOp)
	}
	apiURL := str(api, "Service", "ServiceUrl")
	if !strings.HasSuffix(apiURL, ".us-east-1.localhost:"+strings.Split(s.Router, ":")[1]) || len(strings.Split(apiURL, ".")[0]) != 10 {
		t.Fatalf("ServiceUrl = %q, want <10 chars>.us-east-1.localhost:<router port>", apiURL)
	}

	s.WaitStatus(apiARN, "RUNNING", 60*time.Second)
	d := s.WaitStatus(webARN, "RUNNING", 60*time.Second)
	webURL := str(d, "Service", "ServiceUrl")
	if cpu := str(d, "Service", "InstanceConfiguration", "Cpu"); cpu != "256" {
		t.Errorf("web Cpu = %q, want 256 (0.25 vCPU normalized)", cpu)
	}
	if hc := str(d, "Service", "HealthCheckConfiguration", "Protocol"); hc != "TCP" {
		t.Errorf("web health check protocol = %q, want App Runner's default TCP", hc)
	}
	expectBody(t, s, apiURL, "api v1 from-yaml")
	expectBody(t, s, webURL, "web v1 from-secret")
	if out := s.Logs("web-svc", ""); !strings.Contains(out, "building web") || !strings.Contains(out, "web v1 listening") {
		t.Errorf("slipway logs web lacks build or app output:\n%s", out)
	}
	if out := s.Logs("web-svc", ""); strings.Contains(out, "from-secret") {
		t.Errorf("a secret's value appears in the logs:\n%s", out)
	}

	// Deploy v2 under load: zero failed requests across the switch.
	repo.Write("services/api/version.txt", "v2\n")
	repo.Commit("api v2")
	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, s, apiURL, "api v1", "api v2")
	time.Sleep(200 * time.Millisecond)
	op := s.MustAWS("start-deployment", "--service-arn", apiARN)
	opID := op["OperationId"].(string)
	if st := s.WaitOperation(apiARN, opID, 60*time.Second); st != "SUCCEEDED" {
		t.Fatalf("deployment of v2 ended %s\n%s", st, s.Logs("api-svc", opID))
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-l.done
	if l.failed != 0 || l.total < 20 {
		t.Fatalf("during the v2 deploy %d of %d requests failed (first: %s)", l.failed, l.total, l.firstFailure)
	}
	t.Logf("v2 deploy: %d requests, 0 failed", l.total)
	expectBody(t, s, apiURL, "api v2")

	// A broken deploy rolls back; v2 keeps serving throughout.
	repo.Write("services/api/version.txt", "broken\n")
	repo.Commit("break api")
	ctx, cancel = context.WithCancel(context.Background())
	l = startLoad(ctx, s, apiURL, "api v2")
	op = s.MustAWS("start-deployment", "--service-arn", apiARN)
	brokenOp := op["OperationId"].(string)
	if st := s.WaitOperation(apiARN, brokenOp, 60*time.Second); st != "ROLLBACK_SUCCEEDED" {
		t.Fatalf("broken deployment ended %s, want ROLLBACK_SUCCEEDED", st)
	}
	cancel()
	<-l.done
	if l.failed != 0 {
		t.Fatalf("during the broken deploy %d of %d requests failed (first: %s)", l.failed, l.total, l.firstFailure)
	}
	s.WaitStatus(apiARN, "RUNNING", 5*time.Second)
	expectBody(t, s, apiURL, "api v2")
	opLogs := s.Logs("api-svc", brokenOp)
	for _, want := range []string{"exited with code 3", "version is broken", "rollback complete"} {
		if !strings.Contains(opLogs, want) {
			t.Errorf("slipway logs --operation %s lacks %q:\n%s", brokenOp, want, opLogs)
		}
	}

	// Pause: instances stop, the URL says paused.
	s.MustAWS("pause-service", "--service-arn", apiARN)
	s.WaitStatus(apiARN, "PAUSED", 30*time.Second)
	code, body, _ := s.Get(apiURL, "/")
	if code != 503 || !strings.Contains(strings.ToLower(body), "paused") {
		t.Fatalf("paused service answered %d %q, want 503 saying paused", code, body)
	}
	s.AWSFails("InvalidStateException", "pause-service", "--service-arn", apiARN)

	// Resume starts the same build again, without rebuilding.
	began := time.Now()
	s.MustAWS("resume-service", "--service-arn", apiARN)
	s.WaitStatus(apiARN, "RUNNING", 30*time.Second)
	t.Logf("resume took %s (CLI round trips included)", time.Since(began))
	expectBody(t, s, apiURL, "api v2")

	// Operations, newest first.
	ops := s.MustAWS("list-operations", "--service-arn", apiARN)["OperationSummaryList"].([]any)
	var types []string
	for _, o := range ops {
		m := o.(map[string]any)
		types = append(types, m["Type"].(string)+":"+m["Status"].(string))
	}
	want := "RESUME_SERVICE:SUCCEEDED PAUSE_SERVICE:SUCCEEDED START_DEPLOYMENT:ROLLBACK_SUCCEEDED START_DEPLOYMENT:SUCCEEDED CREATE_SERVICE:SUCCEEDED"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("operations = %s\nwant %s", got, want)
	}
	if id := ops[len(ops)-1].(map[string]any)["Id"]; id != createOp {
		t.Errorf("the CREATE_SERVICE operation's Id = %v, want create-service's OperationId %s", id, createOp)
	}

	// Delete frees the URL.
	s.MustAWS("delete-service", "--service-arn", apiARN)
	d = s.WaitStatus(apiARN, "DELETED", 30*time.Second)
	if d["Service"].(map[string]any)["DeletedAt"] == nil {
		t.Error("deleted service has no DeletedAt")
	}
	if code, _, _ := s.Get(apiURL, "/"); code != 404 {
		t.Fatalf("deleted service's URL answered %d, want 404", code)
	}
	list := s.MustAWS("list-services")["ServiceSummaryList"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["ServiceName"] != "web-svc" {
		t.Fatalf("list-services after delete = %v, want only web-svc", list)
	}
	if entries, _ := filepath.Glob(filepath.Join(s.DataDir, "builds", strings.Split(apiARN, "/")[2], "*")); len(entries) != 0 {
		t.Errorf("builds of the deleted service remain: %v", entries)
	}
	expectBody(t, s, webURL, "web v1")
}

// uuidRE matches an operation ID: App Runner's are UUIDs.
var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// expectBody waits briefly for the service to answer 200 with want.
func expectBody(t *testing.T, s *testenv.Server, url, want string) {
	t.Helper()
	var (
		code int
		body string
		err  error
	)
	for range 50 {
		code, body, err = s.Get(url, "/")
		if err == nil && code == 200 && strings.Contains(body, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s = %d %q (%v), want 200 with %q", url, code, body, err, want)
}
