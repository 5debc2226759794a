package console

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/slipwayhq/slipway/test/testenv"
)

// TestConsole drives the console in chromium through a service's life:
// sign in, create from a monorepo's source directory, watch it deploy,
// follow its domain, deploy a new commit, see a broken deploy's reason,
// edit the configuration, associate and disassociate a custom domain,
// pause and resume, delete. Along the way it checks
// that requests without a session or CSRF token get nothing, and saves a
// screenshot of each page for the README.
func TestConsole(t *testing.T) {
	s := startServer(t)
	repo := newGitRepo(t)
	monorepo(repo)
	b := newBrowser(t)
	api := "http://" + s.API

	// Sign in with the key pair `slipway env` prints; the root redirects
	// to the console, which asks for it.
	id, secret := s.Credentials()
	b.navigate(api + "/")
	b.waitFor("the sign-in page", `location.pathname === "/console/signin" && document.querySelector("#access_key_id")`, 10*time.Second)
	b.screenshot("signin")
	b.typeText("#access_key_id", id)
	b.typeText("#secret_access_key", "wrong")
	b.click("button[type=submit]")
	b.waitFor("the wrong-secret message", `document.body.innerText.includes("Wrong access key ID or secret access key")`, 10*time.Second)
	b.typeText("#access_key_id", id)
	b.typeText("#secret_access_key", secret)
	b.click("button[type=submit]")
	b.waitFor("the services page", `location.pathname === "/console/" && document.querySelector("h1").textContent === "Services"`, 10*time.Second)

	// Create a service from the monorepo's services/api, configured by
	// its apprunner.yaml, with a quick health check.
	b.navigate(api + "/console/create")
	b.fill("#name", "console-api")
	b.fill("#repository_url", "file://"+repo.Dir)
	b.fill("#branch", "main")
	b.fill("#source_directory", "services/api")
	b.fill("#health_protocol", "HTTP")
	b.fill("#health_interval", "1")
	b.fill("#health_timeout", "1")
	b.fill("#unhealthy_threshold", "2")
	b.screenshot("create")
	b.click("#create")
	b.waitFor("the new service's page", `location.pathname.startsWith("/console/services/")`, 10*time.Second)
	serviceID := strings.TrimPrefix(b.location(), api+"/console/services/")
	serviceID, _, _ = strings.Cut(serviceID, "?")
	servicePath := api + "/console/services/" + serviceID

	// It shows "Operation in progress" with a spinner, then "Running",
	// updated live: the marker set on this page survives.
	eval[int](b, `window.__noReload = 42`)
	if got := b.text("#svc-head .status"); got != "Operation in progress" {
		t.Errorf("status right after create = %q, want Operation in progress", got)
	}
	b.waitFor("a spinner", `document.querySelector("#svc-head .status .spinner")`, time.Second)
	if got := b.text(".flash"); !contains(got, "Create service started") {
		t.Errorf("flash = %q, want it to name the started operation", got)
	}
	b.waitFor("Running", `document.querySelector("#svc-head .status").textContent.trim() === "Running"`, 60*time.Second)
	if eval[int](b, `window.__noReload || 0`) != 42 {
		t.Errorf("the page reloaded to show the new status; want a live update")
	}
	b.waitFor("the deploy button enabled", `!document.querySelector("#deploy").disabled`, 10*time.Second)
	b.screenshot("service-overview")

	// Follow the default domain: *.localhost is loopback in chromium.
	domain := b.text("#svc-head a.domain")
	if !strings.HasSuffix(domain, ".localhost:"+strings.Split(s.Router, ":")[1]) {
		t.Fatalf("default domain = %q, want <id>.<region>.localhost:<router port>", domain)
	}
	b.click("#svc-head a.domain")
	b.waitFor("the app", `document.body.innerText.includes("api v1")`, 10*time.Second)
	b.navigate(servicePath)

	// Commit, press Deploy, and see the new entry end in success.
	repo.Write("services/api/version.txt", "v2\n")
	v2 := repo.Commit("second version")
	opID := b.deploy("Deployment started")
	b.waitFor("the deployment to succeed", fmt.Sprintf(`document.querySelector("#op-%s").dataset.status === "SUCCEEDED"`, opID), 60*time.Second)
	if got := b.text("#op-" + opID + " code.rev"); got != v2[:12] {
		t.Errorf("deployment's commit = %q, want %q", got, v2[:12])
	}
	if code, body := get(s, domain, "/"); code != 200 || !contains(body, "api v2") {
		t.Errorf("after Deploy the app answers %d %q, want api v2", code, body)
	}

	// Configuration: turn automatic deployment off; saving calls
	// UpdateService and shows its operation in Activity.
	b.navigate(servicePath + "/configuration")
	b.waitFor("the configuration form", `document.querySelector("#source_directory").value === "services/api"`, 10*time.Second)
	b.screenshot("configuration")
	b.click("#auto_deploy")
	b.click("#save")
	b.waitFor("the update's operation", `location.pathname.endsWith("/activity") && document.querySelector(".flash")`, 10*time.Second)
	if got := b.text(".flash"); !contains(got, "Update service started") {
		t.Errorf("flash after saving = %q, want Update service started", got)
	}
	updateID := b.opFromURL()
	b.waitFor("the update to succeed", fmt.Sprintf(`document.querySelector("#op-%s").dataset.status === "SUCCEEDED"`, updateID), 60*time.Second)

	// Custom domains: associate one, see its records, disassociate it.
	checkDomains(t, b, servicePath)

	// A broken commit rolls back, and Activity says why.
	repo.Write("services/api/version.txt", "broken\n")
	repo.Commit("break it")
	b.navigate(servicePath)
	brokenID := b.deploy("Deployment started")
	b.waitFor("the rollback", fmt.Sprintf(`document.querySelector("#op-%s").dataset.status === "ROLLBACK_SUCCEEDED"`, brokenID), 90*time.Second)
	b.navigate(servicePath + "/activity")
	reason := b.text("#op-" + brokenID + " .reason")
	if reason == "" {
		t.Errorf("the rolled-back deployment shows no failure reason:\n%s", b.pageText())
	}
	if all := b.text("#op-" + brokenID); !contains(all, "version is broken") {
		t.Errorf("the rolled-back deployment does not show the app's last log lines: %q", all)
	}
	b.screenshot("activity")
	if code, body := get(s, domain, "/"); code != 200 || !contains(body, "api v2") {
		t.Errorf("after the rollback the app answers %d %q, want api v2", code, body)
	}

	// Logs: live tail of everything, and one operation's lines.
	b.navigate(servicePath + "/logs")
	b.waitFor("log lines", `document.querySelector("#log-view").innerText.includes("api v2 listening on")`, 15*time.Second)
	b.screenshot("logs")
	b.navigate(servicePath + "/logs?operation=" + brokenID)
	b.waitFor("the broken deployment's lines", `document.querySelector("#log-view").innerText.includes("version is broken")`, 15*time.Second)
	if eval[bool](b, `document.querySelector("#log-view").innerText.includes("api v1 listening")`) {
		t.Errorf("logs filtered by operation %s show another operation's lines", brokenID)
	}

	// Pause and resume.
	b.navigate(servicePath)
	b.waitFor("the pause button enabled", `!document.querySelector("#pause").disabled`, 10*time.Second)
	b.click("#pause")
	b.waitFor("Paused", `document.querySelector("#svc-head .status").textContent.trim() === "Paused"`, 30*time.Second)
	if code, _ := get(s, domain, "/"); code != http.StatusServiceUnavailable {
		t.Errorf("paused service answers %d, want 503", code)
	}
	b.waitFor("the resume button", `document.querySelector("#resume") && !document.querySelector("#resume").disabled`, 10*time.Second)
	b.click("#resume")
	b.waitFor("Running again", `document.querySelector("#svc-head .status").textContent.trim() === "Running"`, 30*time.Second)
	if code, body := get(s, domain, "/"); code != 200 || !contains(body, "api v2") {
		t.Errorf("resumed service answers %d %q, want api v2", code, body)
	}

	// Forged POSTs without the CSRF token are refused: from the page
	// itself, and from a form on another loopback origin (same site, so
	// the cookie goes along and only the token stops it).
	opsBefore := b.opCount(servicePath + "/activity")
	status := eval[int](b, fmt.Sprintf(`fetch(%s, {method: "POST", credentials: "same-origin", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "csrf=forged"}).then(r => r.status)`,
		quote("/console/services/"+serviceID+"/deploy")))
	if status != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: status %d, want 403", status)
	}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form id="f" method="post" action="%s/deploy"></form><script>document.getElementById("f").submit()</script>`, servicePath)
	}))
	defer evil.Close()
	b.navigate(evil.URL)
	b.waitFor("the refusal", `document.body.innerText.includes("CSRF token")`, 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if after := b.opCount(servicePath + "/activity"); after != opsBefore {
		t.Errorf("forged POSTs started operations: %d before, %d after", opsBefore, after)
	}

	// Without a session: the sign-in page, never data.
	checkNoSession(t, api, serviceID)
	checkConsoleURL(t, s, api)

	// The services list, at 1280 px and on a phone.
	b.navigate(api + "/console/")
	row := `document.querySelector("tr[data-service='console-api']")`
	b.waitFor("the service in the list", row, 5*time.Second)
	for _, want := range []string{"Running", domain, "services/api", "main", v2[:12], "Off"} {
		if got := b.text("tr[data-service='console-api']"); !contains(got, want) {
			t.Errorf("services list row %q lacks %q", got, want)
		}
	}
	b.screenshot("services")
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.navigate(api + "/console/")
	b.waitFor("the list on a phone", row, 5*time.Second)
	b.screenshot("services-phone")
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 900))

	// Delete, confirmed by typing the name.
	b.navigate(servicePath)
	b.waitFor("the delete button disabled until confirmed", `document.querySelector("#delete").disabled`, 5*time.Second)
	b.typeText("#confirm", "console-api")
	b.waitFor("the delete button enabled", `!document.querySelector("#delete").disabled`, 5*time.Second)
	b.click("#delete")
	b.waitFor("Deleted", `document.querySelector("#svc-head .status").textContent.trim() === "Deleted"`, 30*time.Second)
	b.navigate(api + "/console/")
	b.waitFor("an empty list", `!document.querySelector("tr[data-service='console-api']")`, 5*time.Second)
	if code, _ := get(s, domain, "/"); code != http.StatusNotFound {
		t.Errorf("deleted service answers %d, want 404", code)
	}
}

// deploy presses Deploy on the overview and returns the operation the
// resulting page names.
func (b *browser) deploy(flash string) string {
	b.t.Helper()
	b.waitFor("the deploy button enabled", `!document.querySelector("#deploy").disabled`, 30*time.Second)
	b.click("#deploy")
	b.waitFor("the started deployment", fmt.Sprintf(`location.search.startsWith("?op=") && document.querySelector(".flash") && document.querySelector(".flash").textContent.includes(%s)`, quote(flash)), 10*time.Second)
	return b.opFromURL()
}

func (b *browser) opFromURL() string {
	b.t.Helper()
	u, err := url.Parse(b.location())
	if err != nil || u.Query().Get("op") == "" {
		b.t.Fatalf("no operation in %s (%v)", b.location(), err)
	}
	return u.Query().Get("op")
}

// opCount counts the operations Activity lists.
func (b *browser) opCount(activityURL string) int {
	b.t.Helper()
	b.navigate(activityURL)
	return eval[int](b, `document.querySelectorAll("li.op").length`)
}

// checkNoSession makes requests without a session cookie: pages redirect
// to sign-in, streams and posts are refused, and no response names the
// service.
func checkNoSession(t *testing.T, api, serviceID string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	for _, c := range []struct {
		method, path, accept string
		want                 int
	}{
		{"GET", "/console/", "", http.StatusSeeOther},
		{"GET", "/console/services/" + serviceID, "", http.StatusSeeOther},
		{"GET", "/console/services/" + serviceID + "/activity", "", http.StatusSeeOther},
		{"GET", "/console/services/" + serviceID + "/configuration", "", http.StatusSeeOther},
		{"GET", "/console/events", "text/event-stream", http.StatusUnauthorized},
		{"GET", "/console/services/" + serviceID + "/logs/stream", "text/event-stream", http.StatusUnauthorized},
		{"POST", "/console/services/" + serviceID + "/deploy", "", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(c.method, api+c.path, nil)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", c.method, c.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s without a session: status %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
		if loc := resp.Header.Get("Location"); c.want == http.StatusSeeOther && !strings.HasPrefix(loc, "/console/signin") {
			t.Errorf("%s %s without a session redirects to %q, want the sign-in page", c.method, c.path, loc)
		}
		if strings.Contains(string(body), "console-api") {
			t.Errorf("%s %s without a session shows the service: %s", c.method, c.path, body)
		}
	}
}

// checkConsoleURL signs in with a `slipway console-url` link: it works
// once, and its cookie is HttpOnly and SameSite=Strict.
func checkConsoleURL(t *testing.T, s *testenv.Server, api string) {
	t.Helper()
	link := consoleURL(t, s)
	if !strings.HasPrefix(link, api+"/console/signin/link?token=") {
		t.Fatalf("slipway console-url printed %q", link)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	resp, err := client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "slipway_session" && c.Value != "" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign-in link: status %d, cookies %v; want 303 and a session", resp.StatusCode, resp.Cookies())
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Errorf("session cookie %v: want HttpOnly and SameSite=Strict", session)
	}
	req, _ := http.NewRequest("GET", api+"/console/", nil)
	req.AddCookie(session)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "console-api") {
		t.Errorf("console with the link's session: %d, want 200 listing the service", resp.StatusCode)
	}
	resp, err = client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a used sign-in link: status %d, want 401", resp.StatusCode)
	}
}
