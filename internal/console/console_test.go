package console

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
	ar "github.com/slipwayhq/slipway/internal/apprunner"
	"github.com/slipwayhq/slipway/internal/store"
)

func TestNoSessionGetsNoData(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("secret-service")
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/console/", http.StatusSeeOther},
		{"GET", "/console/services/" + svc.ID, http.StatusSeeOther},
		{"GET", "/console/services/" + svc.ID + "/activity", http.StatusSeeOther},
		{"GET", "/console/services/" + svc.ID + "/logs", http.StatusSeeOther},
		{"GET", "/console/services/" + svc.ID + "/configuration", http.StatusSeeOther},
		{"GET", "/console/create", http.StatusSeeOther},
		{"POST", "/console/services/" + svc.ID + "/deploy", http.StatusUnauthorized},
		{"POST", "/console/create", http.StatusUnauthorized},
	} {
		rec := e.do(c.method, c.path, url.Values{}, true)
		if rec.Code != c.want {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, rec.Code, c.want)
		}
		if strings.Contains(rec.Body.String(), "secret-service") {
			t.Errorf("%s %s without a session shows the service", c.method, c.path)
		}
		if c.want == http.StatusSeeOther && !strings.HasPrefix(rec.Header().Get("Location"), "/console/signin?next=") {
			t.Errorf("%s %s redirects to %q, want sign-in", c.method, c.path, rec.Header().Get("Location"))
		}
	}
	req := httptest.NewRequest("GET", "/console/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("events without a session: status %d, want 401", rec.Code)
	}
	if ops := e.operations(svc.ARN); len(ops) != 1 {
		t.Errorf("anonymous posts started operations: %d, want only the create", len(ops))
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/console/signin?next=/console/create", nil, true)
	var token *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == signinCookie {
			token = c
		}
	}
	if rec.Code != 200 || token == nil || !strings.Contains(rec.Body.String(), `value="`+token.Value+`"`) {
		t.Fatalf("sign-in page: status %d, cookie %v; want the form's token in a cookie", rec.Code, token)
	}
	signin := func(id, secret string, withToken bool) *httptest.ResponseRecorder {
		form := url.Values{"access_key_id": {id}, "secret_access_key": {secret}, "next": {"/console/create"}, csrfField: {token.Value}}
		req := httptest.NewRequest("POST", "/console/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withToken {
			req.AddCookie(token)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec
	}
	if rec := signin("AKIATEST", "s3cret", false); rec.Code != http.StatusForbidden {
		t.Errorf("sign-in without the form's cookie: status %d, want 403", rec.Code)
	}
	for _, bad := range [][2]string{{"AKIATEST", "wrong"}, {"AKIAOTHER", "s3cret"}, {"", ""}} {
		rec := signin(bad[0], bad[1], true)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Wrong access key ID or secret access key") {
			t.Errorf("sign-in as %q/%q: status %d, want 401 and a message", bad[0], bad[1], rec.Code)
		}
	}
	rec = signin("AKIATEST", "s3cret", true)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/console/create" {
		t.Fatalf("sign-in: status %d to %q, want 303 to next", rec.Code, rec.Header().Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			sess = c
		}
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/console/" {
		t.Fatalf("session cookie %v: want HttpOnly, SameSite=Strict, Path=/console/", sess)
	}
	e.cookie = sess
	if rec := e.get("/console/"); rec.Code != 200 {
		t.Errorf("console with the new session: status %d", rec.Code)
	}
	// Signing out ends the session.
	if s, _ := e.c.sessions.get(context.Background(), sess.Value); s == nil {
		t.Fatal("no session")
	} else {
		e.csrf = s.csrf
	}
	e.post("/console/signout", nil)
	if rec := e.get("/console/"); rec.Code != http.StatusSeeOther {
		t.Errorf("after sign-out: status %d, want a redirect to sign-in", rec.Code)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/console/create":              "/console/create",
		"/console/services/x?op=1":     "/console/services/x?op=1",
		"":                             "/console/",
		"https://evil.example/console": "/console/",
		"//evil.example/console/":      "/console/",
		"/console/\\evil":              "/console/",
		"/other":                       "/console/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSRFRequired(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("csrf-service")
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "abc")
	for _, token := range []string{"", "forged"} {
		form := url.Values{}
		if token != "" {
			form.Set(csrfField, token)
		}
		for _, action := range []string{"deploy", "pause", "delete", "configuration"} {
			rec := e.do("POST", "/console/services/"+svc.ID+"/"+action, form, false)
			if rec.Code != http.StatusForbidden {
				t.Errorf("POST %s with CSRF token %q: status %d, want 403", action, token, rec.Code)
			}
		}
	}
	if ops := e.operations(svc.ARN); len(ops) != 1 {
		t.Errorf("forged posts started %d operations", len(ops)-1)
	}
}

func TestServicesList(t *testing.T) {
	e := newEnv(t)
	e.createService("busy-one")
	done := e.createService("done-one")
	e.finish(done.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "0123456789abcdef0123")
	rec := e.get("/console/")
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	wantContains(t, body, "busy-one", "done-one", `<span class="spinner"`, "Operation in progress", "Running",
		`href="http://`+done.Host+`:8080"`, "file:///srv/git/monorepo", "services/api", "main",
		"0123456789ab", "On", `id="services" data-live`)
}

func TestDeployAndActivity(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("deploy-me")

	// While the create runs, Deploy is disabled and refused.
	overview := e.get("/console/services/" + svc.ID).Body.String()
	wantContains(t, overview, `id="deploy" type="submit" disabled`, "Operation in progress")
	rec := e.post("/console/services/"+svc.ID+"/deploy", nil)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "its status is OPERATION_IN_PROGRESS") {
		t.Errorf("deploy while busy: status %d, want 409 with the API's message\n%s", rec.Code, rec.Body)
	}

	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "1111111111111111")
	rec = e.post("/console/services/"+svc.ID+"/deploy", nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("deploy: status %d\n%s", rec.Code, rec.Body)
	}
	ops := e.operations(svc.ARN)
	if len(ops) != 2 || ops[0].Type != ar.OperationTypeStartDeployment {
		t.Fatalf("operations after Deploy: %+v, want a START_DEPLOYMENT", ops)
	}
	loc := rec.Header().Get("Location")
	if loc != "/console/services/"+svc.ID+"?op="+ops[0].ID {
		t.Errorf("redirect to %q, want the overview naming the operation", loc)
	}
	wantContains(t, e.get(loc).Body.String(), "Deployment started: operation "+ops[0].ID)

	// It rolls back: Activity shows the reason and the last log lines.
	e.logs[ops[0].ID] = []applog.Entry{
		{Time: time.Now(), Source: "build", Stream: "stdout", Text: "building"},
		{Time: time.Now(), Source: "inst-1", Stream: "stdout", Text: "version is broken, exiting"},
	}
	e.finish(svc.ARN, ar.OperationStatusRollbackSucceeded, "health check failed: connection refused", ar.ServiceStatusRunning, "2222222222222222")
	body := e.get("/console/services/" + svc.ID + "/activity").Body.String()
	wantContains(t, body, "Rolled back", "health check failed: connection refused", "Last log lines",
		"version is broken, exiting", "222222222222", `id="op-`+ops[0].ID+`"`, "Create service")
	if i, j := strings.Index(body, "Rolled back"), strings.Index(body, "<strong>Create service</strong>"); i > j {
		t.Errorf("Activity is not newest first")
	}
}

func TestActivityInterleavesDecisions(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("auto-one")
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "aaaa")
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		return tx.PutCommitDecision(store.CommitDecision{ServiceARN: svc.ARN, Commit: "feedface0000cafe", Author: "Ada",
			Message: "docs: typo", CommittedAt: time.Now(), DecidedAt: time.Now().Add(time.Second),
			Decision: store.DecisionSkip, Reason: "skipped: no file under services/api changed", Trigger: "poll"})
	})
	if err != nil {
		t.Fatal(err)
	}
	body := e.get("/console/services/" + svc.ID + "/activity").Body.String()
	wantContains(t, body, "Skipped", "feedface0000", "docs: typo", "skipped: no file under services/api changed", "via poll")
	if i, j := strings.Index(body, "docs: typo"), strings.Index(body, "<strong>Create service</strong>"); i < 0 || i > j {
		t.Errorf("the newer decision is not listed before the older operation")
	}
}

func TestPauseResumeDelete(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("lifecycle")
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "aaaa")
	if rec := e.post("/console/services/"+svc.ID+"/pause", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("pause: %d %s", rec.Code, rec.Body)
	}
	if op := e.operations(svc.ARN)[0]; op.Type != ar.OperationTypePauseService {
		t.Errorf("pause started %s", op.Type)
	}
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusPaused, "")
	wantContains(t, e.get("/console/services/"+svc.ID).Body.String(), `id="resume"`, "Paused")
	if rec := e.post("/console/services/"+svc.ID+"/resume", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("resume: %d %s", rec.Code, rec.Body)
	}
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "")

	rec := e.post("/console/services/"+svc.ID+"/delete", url.Values{"confirm": {"wrong"}})
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "type its name, lifecycle") {
		t.Errorf("delete with a wrong confirmation: %d, want 400 asking for the name", rec.Code)
	}
	if op := e.operations(svc.ARN)[0]; op.Type == ar.OperationTypeDeleteService {
		t.Fatal("a wrong confirmation deleted the service")
	}
	if rec := e.post("/console/services/"+svc.ID+"/delete", url.Values{"confirm": {"lifecycle"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if op := e.operations(svc.ARN)[0]; op.Type != ar.OperationTypeDeleteService {
		t.Errorf("delete started %s", op.Type)
	}
}

func TestCreateShowsAPIValidation(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"name": {"ab"}, "kind": {"code"}, "repository_url": {"file:///r"}, "branch": {"main"},
		"source_directory": {"svc/a"}, "config_source": {"REPOSITORY"}, "cpu": {"1024"}, "memory": {"2048"}}
	rec := e.post("/console/create", form)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", rec.Code)
	}
	// The API's own wording, and the form comes back as typed.
	wantContains(t, rec.Body.String(), "1 validation error detected: Value &#39;ab&#39; at &#39;serviceName&#39; failed to satisfy constraint",
		`value="svc/a"`, `value="file:///r"`)

	form.Set("name", "good-name")
	form.Set("cpu", "256")
	form.Set("memory", "4096")
	rec = e.post("/console/create", form)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Memory") {
		t.Errorf("bad CPU/memory pair: %d, want 400 naming the memory", rec.Code)
	}
	form.Set("env", "no equals sign")
	form.Set("config_source", "API")
	if rec := e.post("/console/create", form); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "want NAME=value") {
		t.Errorf("bad env line: %d", rec.Code)
	}

	form = url.Values{"name": {"good-name"}, "kind": {"code"}, "repository_url": {"file:///r"}, "branch": {"main"},
		"source_directory": {"svc/a"}, "config_source": {"API"}, "runtime": {"PYTHON_3"}, "start_command": {"python3 app.py"},
		"port": {"8000"}, "env": {"A=1\n# comment\nB = two\n"}, "secrets": {"TOKEN=arn:aws:secretsmanager:us-east-1:000000000000:secret:tok"},
		"auto_deploy": {"on"}, "cpu": {"1024"}, "memory": {"2048"}, "health_protocol": {"HTTP"}, "health_path": {"/health"}, "health_interval": {"2"}}
	rec = e.post("/console/create", form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create: status %d\n%s", rec.Code, rec.Body)
	}
	svcs, _ := e.c.listServices(context.Background())
	if len(svcs) != 1 {
		t.Fatalf("services: %d", len(svcs))
	}
	cfg := svcs[0].Config
	v := cfg.Source.CodeRepository.CodeConfiguration.CodeConfigurationValues
	if v.RuntimeEnvironmentVariables["B"] != "two" || v.RuntimeEnvironmentSecrets["TOKEN"] == "" || *v.Port != "8000" ||
		*cfg.HealthCheck.Path != "/health" || *cfg.HealthCheck.Interval != 2 || *cfg.Source.CodeRepository.SourceDirectory != "svc/a" {
		t.Errorf("created configuration does not match the form: %+v %+v", v, cfg.HealthCheck)
	}
	// Secrets show as references on the configuration page.
	wantContains(t, e.get("/console/services/"+svcs[0].ID+"/configuration").Body.String(), "TOKEN=arn:aws:secretsmanager")
}

func TestConfigurationSavesWithUpdateService(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("configure-me")
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "aaaa")
	page := e.get("/console/services/" + svc.ID + "/configuration").Body.String()
	wantContains(t, page, `value="services/api"`, `name="auto_deploy" id="auto_deploy" checked`, "DefaultConfiguration")

	form := url.Values{"branch": {"release"}, "source_directory": {"services/api2"}, "config_source": {"REPOSITORY"},
		"cpu": {"2048"}, "memory": {"4096"}, "health_protocol": {"TCP"}, "health_interval": {"x"}}
	rec := e.post("/console/services/"+svc.ID+"/configuration", form)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "Health check interval must be a whole number") {
		t.Errorf("bad interval: %d", rec.Code)
	}
	form.Set("health_interval", "3")
	rec = e.post("/console/services/"+svc.ID+"/configuration", form)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", rec.Code, rec.Body)
	}
	op := e.operations(svc.ARN)[0]
	if op.Type != ar.OperationTypeUpdateService || rec.Header().Get("Location") != "/console/services/"+svc.ID+"/activity?op="+op.ID {
		t.Fatalf("save started %s, redirected to %s", op.Type, rec.Header().Get("Location"))
	}
	cfg := op.Config
	if *cfg.Source.AutoDeploymentsEnabled || cfg.Source.CodeRepository.SourceCodeVersion.Value != "release" ||
		*cfg.Source.CodeRepository.SourceDirectory != "services/api2" || *cfg.Instance.Cpu != "2048" ||
		cfg.Source.CodeRepository.RepositoryUrl != "file:///srv/git/monorepo" || *cfg.HealthCheck.Interval != 3 {
		t.Errorf("UpdateService got %+v", cfg.Source.CodeRepository)
	}
	wantContains(t, e.get(rec.Header().Get("Location")).Body.String(), "Update service started")
}

func TestConsoleURLToken(t *testing.T) {
	e := newEnv(t)
	h := e.c.TokenHandler(verifierFunc(func(r *http.Request) error {
		if r.Header.Get("Authorization") != "signed" {
			return errors.New("InvalidSignatureException: bad signature")
		}
		return nil
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", TokenPath, nil))
	if rec.Code != http.StatusForbidden {
		t.Errorf("unsigned token request: %d, want 403", rec.Code)
	}
	req := httptest.NewRequest("POST", TokenPath, nil)
	req.Header.Set("Authorization", "signed")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	link := strings.TrimSpace(rec.Body.String())
	if rec.Code != 200 || !strings.Contains(link, `"url":"http://example.com/console/signin/link?token=`) {
		t.Fatalf("token: %d %s", rec.Code, link)
	}
	tok := link[strings.Index(link, "token=")+6 : strings.LastIndex(link, `"`)]
	path := "/console/signin/link?token=" + tok
	if rec := e.do("GET", path, nil, true); rec.Code != http.StatusSeeOther || len(rec.Result().Cookies()) == 0 {
		t.Errorf("first use of the link: %d, want 303 with a session", rec.Code)
	}
	if rec := e.do("GET", path, nil, true); rec.Code != http.StatusUnauthorized {
		t.Errorf("second use of the link: %d, want 401", rec.Code)
	}
	// An expired link is refused.
	tok2 := e.c.sessions.newLink()
	e.c.now = func() time.Time { return time.Now().Add(time.Hour) }
	if rec := e.do("GET", "/console/signin/link?token="+tok2, nil, true); rec.Code != http.StatusUnauthorized {
		t.Errorf("expired link: %d, want 401", rec.Code)
	}
}

type verifierFunc func(r *http.Request) error

func (f verifierFunc) Verify(_ context.Context, r *http.Request, _ []byte) (string, error) {
	return "AKIATEST", f(r)
}

func TestEventsStream(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/console/events", nil)
	req.AddCookie(e.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		var all string
		for {
			n, err := resp.Body.Read(buf)
			all += string(buf[:n])
			if strings.Contains(all, "event: change") || err != nil {
				got <- all
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	e.createService("wakes-stream")
	select {
	case s := <-got:
		if !strings.Contains(s, "event: change") {
			t.Errorf("stream ended without a change event: %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change event after a store write")
	}
	// Close ends streams, so the server can shut down.
	e.c.Close()
	done := make(chan struct{})
	go func() { resp.Body.Read(make([]byte, 1)); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("stream still open after Close")
	}
}

// TestEventsPoll: ?poll= sends change events with no store write, and an
// interval out of bounds is refused.
func TestEventsPoll(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	get := func(poll string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/console/events?poll="+poll, nil)
		req.AddCookie(e.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, bad := range []string{"10ms", "1h", "soon"} {
		resp := get(bad)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("poll=%s: status %d, want 400", bad, resp.StatusCode)
		}
	}
	resp := get("1s")
	defer resp.Body.Close()
	start := time.Now()
	events := 0
	buf := make([]byte, 4096)
	var all string
	for events < 2 && time.Since(start) < 5*time.Second {
		n, err := resp.Body.Read(buf)
		all += string(buf[:n])
		events = strings.Count(all, "event: change")
		if err != nil {
			break
		}
	}
	if events < 2 {
		t.Fatalf("%d change events in %s with poll=1s and no writes, want 2: %q", events, time.Since(start).Round(time.Millisecond), all)
	}
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("2 polls after %s, want about 2 s", d)
	}
	e.c.Close()
}

func TestParsePairs(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{"", nil, false},
		{"A=1\nB=x=y\n\n# c\n", map[string]string{"A": "1", "B": "x=y"}, false},
		{" K = v \r\n", map[string]string{"K": "v"}, false},
		{"novalue", nil, true},
		{"=v", nil, true},
	} {
		got, err := parsePairs("Env", c.in)
		if (err != nil) != c.wantErr || len(got) != len(c.want) {
			t.Errorf("parsePairs(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.wantErr)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("parsePairs(%q)[%s] = %q, want %q", c.in, k, got[k], v)
			}
		}
	}
}

func TestActivityShowsScaling(t *testing.T) {
	e := newEnv(t)
	svc := e.createService("scaled")
	e.finish(svc.ARN, ar.OperationStatusSucceeded, "", ar.ServiceStatusRunning, "aaaa")
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		return tx.PutScalingEvent(store.ScalingEvent{ServiceARN: svc.ARN, At: time.Now().Add(time.Second), From: 1, To: 3,
			Concurrency: 11.6, Reason: "concurrency 11.6 over 6s needs 5 instances, capped at MaxSize 3: scale out from 1 to 3"})
	})
	if err != nil {
		t.Fatal(err)
	}
	body := e.get("/console/services/" + svc.ID + "/activity").Body.String()
	wantContains(t, body, "Scaled out", "1 → 3 instances", "concurrency 11.6", "capped at MaxSize 3")
}
