package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// logsApp prints ticks at start and a line per request, as apps log.
const logsApp = `import http.server, os
for i in range(1, 26):
    print(f"tick {i} of 25: the marker phrase", flush=True)
print(f"listening on {os.environ['PORT']}", flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        print(f"request for {self.path}", flush=True)
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
`

// logsBoto reads the logs with boto3's paginators, as scripts do, and
// prints what it found as JSON.
const logsBoto = `import json, sys
import boto3
logs = boto3.client("logs")
svc_group, app_group = sys.argv[1], sys.argv[2]
out = {}
groups = []
for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix="/aws/apprunner/", PaginationConfig={"PageSize": 1}):
    assert len(page["logGroups"]) <= 1, page
    groups += [g["logGroupName"] for g in page["logGroups"]]
out["groups"] = groups
streams = []
for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=svc_group, PaginationConfig={"PageSize": 1}):
    streams += [s["logStreamName"] for s in page["logStreams"]]
out["service_streams"] = streams
pages, events = 0, []
for page in logs.get_paginator("filter_log_events").paginate(logGroupName=app_group, filterPattern='"marker phrase"',
                                                           PaginationConfig={"PageSize": 4}):
    pages += 1
    assert len(page["events"]) <= 4, page
    events += [e["message"] for e in page["events"]]
out["filter_pages"], out["filter_events"] = pages, events
# GetLogEvents has no paginator: follow nextForwardToken until it comes back unchanged.
stream = logs.describe_log_streams(logGroupName=app_group)["logStreams"][0]["logStreamName"]
kw, got, calls = {"logGroupName": app_group, "logStreamName": stream, "startFromHead": True, "limit": 10}, [], 0
while True:
    calls += 1
    r = logs.get_log_events(**kw)
    got += [e["message"] for e in r["events"]]
    if kw.get("nextToken") == r["nextForwardToken"]:
        break
    kw["nextToken"] = r["nextForwardToken"]
out["get_events"], out["get_calls"] = got, calls
try:
    logs.filter_log_events(logGroupName="/aws/apprunner/nope/0123/service")
    raise SystemExit("an unknown group was found")
except logs.exceptions.ResourceNotFoundException:
    pass
print(json.dumps(out))
`

// TestCloudWatchLogs reads a real service's deployment and application
// logs with `aws logs` and boto3, as App Runner's users read theirs.
func TestCloudWatchLogs(t *testing.T) {
	s := startServer(t)
	repo := newGitRepo(t)
	repo.Write("app.py", logsApp)
	repo.Commit("logs app")
	created := s.MustAWS("create-service", "--service-name", "logs-app",
		"--source-configuration", mustJSON(t, valuesSource(repo, map[string]any{
			"Runtime":      "PYTHON_3",
			"BuildCommand": `python3 -c 'print("building logs-app now")'`,
			"StartCommand": "python3 app.py",
			"Port":         "8000",
		})))
	arn, opID := str(created, "Service", "ServiceArn"), created["OperationId"].(string)
	d := s.WaitStatus(arn, "RUNNING", 60*time.Second)
	url, id := str(d, "Service", "ServiceUrl"), str(d, "Service", "ServiceId")
	for _, path := range []string{"/one", "/two"} {
		if code, _, err := s.Get(url, path); err != nil || code != 200 {
			t.Fatalf("GET %s = %d, %v", path, code, err)
		}
	}
	svcGroup := "/aws/apprunner/logs-app/" + id + "/service"
	appGroup := "/aws/apprunner/logs-app/" + id + "/application"

	// describe-log-groups, paginated by the CLI one group a page.
	out := s.MustCLI("logs", "describe-log-groups", "--log-group-name-prefix", "/aws/apprunner/logs-app/", "--page-size", "1")
	groups := list(out, "logGroups")
	if got := strs(groups, "logGroupName"); got != appGroup+","+svcGroup {
		t.Fatalf("log groups = %s, want %s and %s", got, appGroup, svcGroup)
	}
	for _, g := range groups {
		if g["retentionInDays"] != float64(30) || g["arn"] != "arn:aws:logs:us-east-1:000000000000:log-group:"+g["logGroupName"].(string)+":*" {
			t.Errorf("log group %v: want retentionInDays 30 and a logs ARN", g)
		}
	}

	// The service group: the events stream and the deployment's.
	streams := list(s.MustCLI("logs", "describe-log-streams", "--log-group-name", svcGroup), "logStreams")
	if got := strs(streams, "logStreamName"); got != "deployment/"+opID+",events" {
		t.Fatalf("service streams = %s, want deployment/%s,events", got, opID)
	}
	deployment := messages(s.MustCLI("logs", "get-log-events", "--log-group-name", svcGroup,
		"--log-stream-name", "deployment/"+opID, "--start-from-head"))
	if !contains(deployment, "[Build] building logs-app now") || !contains(deployment, "[AppRunner] ") {
		t.Errorf("deployment stream lacks the build output or Slipway's lines:\n%s", strings.Join(deployment, "\n"))
	}
	events := messages(s.MustCLI("logs", "get-log-events", "--log-group-name", svcGroup, "--log-stream-name", "events"))
	if !contains(events, "Service creation started. Operation ID: "+opID) || !contains(events, "Service creation succeeded. Operation ID: "+opID) {
		t.Errorf("events stream lacks the creation's start and success:\n%s", strings.Join(events, "\n"))
	}

	// The application group: the instance's stdout.
	streams = list(s.MustCLI("logs", "describe-log-streams", "--log-group-name", appGroup, "--order-by", "LastEventTime", "--descending"), "logStreams")
	if len(streams) != 1 || !strings.HasPrefix(streams[0]["logStreamName"].(string), "instance/") {
		t.Fatalf("application streams = %v, want one instance/ stream", streams)
	}
	instance := streams[0]["logStreamName"].(string)
	got := s.MustCLI("logs", "get-log-events", "--log-group-name", appGroup, "--log-stream-name", instance, "--start-from-head")
	lines := messages(got)
	var ticks []string
	for _, l := range lines {
		if strings.HasPrefix(l, "tick ") {
			ticks = append(ticks, l)
		}
	}
	if len(ticks) != 25 || ticks[0] != "tick 1 of 25: the marker phrase" || !contains(lines, "[AppRunner] starting: ") ||
		!contains(lines, "listening on 8000") || !contains(lines, "request for /one") || !contains(lines, "request for /two") {
		t.Errorf("instance stream:\n%s\nwant the start, the ticks, the listening line and both requests", strings.Join(lines, "\n"))
	}
	// At the end of the stream, the forward token comes back unchanged.
	fwd := got["nextForwardToken"].(string)
	again := s.MustCLI("logs", "get-log-events", "--log-group-name", appGroup, "--log-stream-name", instance, "--next-token", fwd, "--start-from-head")
	if n := len(messages(again)); n != 0 || again["nextForwardToken"] != fwd {
		t.Errorf("after the end: %d events, token %v; want none and %s back", n, again["nextForwardToken"], fwd)
	}

	// filter-log-events with a quoted phrase, paginated by the CLI over
	// more events than a page holds.
	filtered := s.MustCLI("logs", "filter-log-events", "--log-group-name", appGroup, "--filter-pattern", `"marker phrase"`, "--page-size", "4")
	var want []string
	for i := 1; i <= 25; i++ {
		want = append(want, fmt.Sprintf("tick %d of 25: the marker phrase", i))
	}
	if got := messages(filtered); !slices.Equal(got, want) {
		t.Errorf("filter \"marker phrase\" = %q\nwant the 25 ticks in order", got)
	}
	for _, e := range list(filtered, "events") {
		if e["logStreamName"] != instance || e["eventId"] == "" {
			t.Fatalf("filtered event %v: want logStreamName %s and an eventId", e, instance)
		}
	}
	if got := messages(s.MustCLI("logs", "filter-log-events", "--log-group-name", appGroup, "--filter-pattern", "request -two")); !slices.Equal(got, []string{"request for /one"}) {
		t.Errorf("filter \"request -two\" = %q, want only request for /one", got)
	}
	if got := messages(s.MustCLI("logs", "filter-log-events", "--log-group-name", svcGroup, "--filter-pattern", `"building logs-app"`,
		"--log-stream-name-prefix", "deployment/")); len(got) != 1 || got[0] != "[Build] building logs-app now" {
		t.Errorf("filter the deployment's build output = %q", got)
	}
	future := fmt.Sprint(time.Now().Add(time.Hour).UnixMilli())
	if got := messages(s.MustCLI("logs", "filter-log-events", "--log-group-name", appGroup, "--start-time", future)); len(got) != 0 {
		t.Errorf("events after an hour from now: %q, want none", got)
	}

	// Errors as CloudWatch sends them.
	if _, err := s.CLI("logs", "describe-log-streams", "--log-group-name", "/aws/apprunner/nope/0123/service"); err == nil ||
		!strings.Contains(err.Error(), "ResourceNotFoundException") || !strings.Contains(err.Error(), "The specified log group does not exist.") {
		t.Errorf("unknown group: %v, want ResourceNotFoundException", err)
	}
	if _, err := s.CLI("logs", "filter-log-events", "--log-group-name", appGroup, "--filter-pattern", `{ $.level = "error" }`); err == nil ||
		!strings.Contains(err.Error(), "InvalidParameterException") {
		t.Errorf("JSON filter pattern: %v, want InvalidParameterException", err)
	}

	// boto3's paginators.
	script := filepath.Join(t.TempDir(), "logs.py")
	if err := os.WriteFile(script, []byte(logsBoto), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", script, svcGroup, appGroup)
	cmd.Env = s.Env
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 script: %v\n%s", err, b)
	}
	var boto struct {
		Groups         []string `json:"groups"`
		ServiceStreams []string `json:"service_streams"`
		FilterPages    int      `json:"filter_pages"`
		FilterEvents   []string `json:"filter_events"`
		GetEvents      []string `json:"get_events"`
		GetCalls       int      `json:"get_calls"`
	}
	if err := json.Unmarshal(b, &boto); err != nil {
		t.Fatalf("boto3 script printed %s: %v", b, err)
	}
	if !slices.Equal(boto.Groups, []string{appGroup, svcGroup}) {
		t.Errorf("boto3 describe_log_groups = %v", boto.Groups)
	}
	if !slices.Equal(boto.ServiceStreams, []string{"deployment/" + opID, "events"}) {
		t.Errorf("boto3 describe_log_streams = %v", boto.ServiceStreams)
	}
	if boto.FilterPages != 7 || !slices.Equal(boto.FilterEvents, want) {
		t.Errorf("boto3 filter_log_events: %d pages of %q, want 7 pages of the 25 ticks", boto.FilterPages, boto.FilterEvents)
	}
	// Pages of 10, then one that hands the token back.
	if calls := (len(lines)+9)/10 + 1; !slices.Equal(boto.GetEvents, lines) || boto.GetCalls != calls {
		t.Errorf("boto3 get_log_events: %d calls, %q\nwant %d calls, %q", boto.GetCalls, boto.GetEvents, calls, lines)
	}
}

// messages returns the messages of an answer's events.
func messages(out map[string]any) []string {
	var ms []string
	for _, e := range list(out, "events") {
		ms = append(ms, e["message"].(string))
	}
	return ms
}

func contains(lines []string, sub string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, sub) })
}
