package console

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipwayhq/slipway/internal/store"
)

// signinFrom signs in through the form as a browser at addr would, over
// TLS if secure, and returns the response.
func (e *env) signinFrom(addr, id, secret string, secure bool) *httptest.ResponseRecorder {
	e.t.Helper()
	req := func(method, path string, body io.Reader) *http.Request {
		r := httptest.NewRequest(method, path, body)
		r.RemoteAddr = addr
		if secure {
			r.TLS = &tls.ConnectionState{}
		}
		return r
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req("GET", "/console/signin", nil))
	tok := cookieNamed(rec, signinCookie)
	if tok == nil {
		e.t.Fatalf("sign-in page set no %s cookie", signinCookie)
	}
	form := url.Values{"access_key_id": {id}, "secret_access_key": {secret}, csrfField: {tok.Value}}
	r := req("POST", "/console/signin", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(tok)
	rec = httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec
}

func cookieNamed(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// status fetches a console page through h with a session cookie.
func status(h http.Handler, cookie *http.Cookie, path string) int {
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// signedIn signs in and returns the session cookie.
func (e *env) signedIn() *http.Cookie {
	e.t.Helper()
	rec := e.signinFrom("192.0.2.10:4000", "AKIATEST", "s3cret", false)
	ck := cookieNamed(rec, sessionCookie)
	if rec.Code != http.StatusSeeOther || ck == nil {
		e.t.Fatalf("sign-in: status %d, cookie %v", rec.Code, ck)
	}
	return ck
}

func TestSessionSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	ck := e.signedIn()
	// A new console over the same store, as after a daemon restart.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c2 := New(Config{}, e.ctl, e.st, e.logs, keys{"AKIATEST": "s3cret"}, log)
	t.Cleanup(c2.Close)
	if got := status(c2.Handler(), ck, "/console/"); got != http.StatusOK {
		t.Errorf("session after a restart: status %d, want 200", got)
	}
	if got := status(c2.Handler(), &http.Cookie{Name: sessionCookie, Value: "not-a-session"}, "/console/"); got != http.StatusSeeOther {
		t.Errorf("unknown session cookie: status %d, want a redirect to sign-in", got)
	}
}

func TestSessionStoresNoCookie(t *testing.T) {
	dir := t.TempDir()
	e := newEnvAt(t, filepath.Join(dir, "slipway.db"))
	ck := e.signedIn()
	e.st.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(ck.Value)) {
			t.Errorf("%s holds the session cookie's value", filepath.Base(f))
		}
	}
}

func TestSessionLifetimes(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	at := func(d time.Duration) { e.c.now = func() time.Time { return start.Add(d) } }
	at(0)
	ck := e.signedIn()
	h := e.h
	// Used every few hours, it outlives the idle timeout but not the
	// absolute lifetime.
	for d := time.Duration(0); d < defaultSessionLifetime; d += defaultSessionIdle / 2 {
		at(d)
		if got := status(h, ck, "/console/"); got != http.StatusOK {
			t.Fatalf("in use after %s: status %d, want 200", d, got)
		}
	}
	at(defaultSessionLifetime + time.Second)
	if got := status(h, ck, "/console/"); got != http.StatusSeeOther {
		t.Errorf("past the absolute lifetime: status %d, want a redirect to sign-in", got)
	}

	// Unused, it ends after the idle timeout.
	at(0)
	ck = e.signedIn()
	at(defaultSessionIdle + touchEvery + time.Second)
	if got := status(h, ck, "/console/"); got != http.StatusSeeOther {
		t.Errorf("idle past the timeout: status %d, want a redirect to sign-in", got)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	e := newEnv(t)
	for _, secure := range []bool{false, true} {
		rec := e.signinFrom("192.0.2.20:4000", "AKIATEST", "s3cret", secure)
		if ck := cookieNamed(rec, sessionCookie); ck == nil || ck.Secure != secure {
			t.Errorf("session cookie over TLS %v: %v, want Secure %v", secure, ck, secure)
		}
	}
	// The sign-in page's own cookie too.
	req := httptest.NewRequest("GET", "/console/signin", nil)
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if ck := cookieNamed(rec, signinCookie); ck == nil || !ck.Secure {
		t.Errorf("sign-in cookie over TLS: %v, want Secure", ck)
	}
	// A one-time link followed over TLS.
	req = httptest.NewRequest("GET", "/console/signin/link?token="+e.c.sessions.newLink(), nil)
	req.TLS = &tls.ConnectionState{}
	rec = httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if ck := cookieNamed(rec, sessionCookie); ck == nil || !ck.Secure {
		t.Errorf("session cookie from a link over TLS: %v, want Secure", ck)
	}
}

func TestSigninRateLimited(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	e.c.now = func() time.Time { return start }
	const attacker, other = "192.0.2.30:5555", "198.51.100.7:6000"
	for i := range signinBurst {
		if rec := e.signinFrom(attacker, "AKIATEST", "guess", false); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failed attempt %d: status %d, want 401", i+1, rec.Code)
		}
	}
	// Another port on the same address is the same client.
	rec := e.signinFrom("192.0.2.30:5556", "AKIATEST", "s3cret", false)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		cookieNamed(rec, sessionCookie) != nil || !strings.Contains(rec.Body.String(), "Too many failed sign-ins") {
		t.Errorf("attempt after %d failures: status %d, Retry-After %q; want 429 with Retry-After, a message and no session",
			signinBurst, rec.Code, rec.Header().Get("Retry-After"))
	}
	// Someone else is not held up by the attacker.
	if rec := e.signinFrom(other, "AKIATEST", "s3cret", false); rec.Code != http.StatusSeeOther {
		t.Errorf("another client's sign-in: status %d, want 303", rec.Code)
	}
	// After a while the client may try again.
	e.c.now = func() time.Time { return start.Add(time.Minute) }
	if rec := e.signinFrom(attacker, "AKIATEST", "s3cret", false); rec.Code != http.StatusSeeOther {
		t.Errorf("sign-in a minute later: status %d, want 303", rec.Code)
	}
}

func TestSessionPolicy(t *testing.T) {
	p := sessionPolicy{idle: time.Hour, lifetime: 4 * time.Hour}
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name              string
		created, seen, at time.Duration // after t0
		live, touch       bool
	}{
		{"just signed in", 0, 0, 0, true, false},
		{"used within touchEvery", 0, 0, touchEvery - time.Second, true, false},
		{"used after touchEvery", 0, 0, touchEvery, true, true},
		{"idle to the limit", 0, 0, time.Hour, true, true},
		{"idle past the limit", 0, 0, time.Hour + time.Second, false, false},
		{"in use at the lifetime", 0, 4*time.Hour - time.Minute, 4 * time.Hour, true, true},
		{"in use past the lifetime", 0, 4*time.Hour - time.Second, 4*time.Hour + time.Second, false, false},
	} {
		s := store.ConsoleSession{CreatedAt: t0.Add(c.created), LastSeenAt: t0.Add(c.seen)}
		live, touch := p.judge(s, t0.Add(c.at))
		if live != c.live || touch != c.touch {
			t.Errorf("%s: judge = live %v, touch %v; want %v, %v", c.name, live, touch, c.live, c.touch)
		}
	}
}

// lastSeen reads a session's last use from the store.
func (e *env) lastSeen(ck *http.Cookie) time.Time {
	e.t.Helper()
	var s store.ConsoleSession
	if err := e.st.View(context.Background(), func(tx *store.Tx) (err error) {
		s, err = tx.ConsoleSession(hashID(ck.Value))
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return s.LastSeenAt
}

func TestSessionUseWritesSeldom(t *testing.T) {
	e := newEnv(t)
	start := time.Now().UTC()
	e.c.now = func() time.Time { return start }
	ck := e.signedIn()
	changed := e.st.Changed()
	e.c.now = func() time.Time { return start.Add(touchEvery / 2) }
	status(e.h, ck, "/console/")
	if got := e.lastSeen(ck); !got.Equal(start) {
		t.Errorf("last seen after a use within %s: %s, want unchanged %s", touchEvery, got, start)
	}
	later := start.Add(touchEvery + time.Second)
	e.c.now = func() time.Time { return later }
	status(e.h, ck, "/console/")
	if got := e.lastSeen(ck); !got.Equal(later) {
		t.Errorf("last seen after a use past %s: %s, want %s", touchEvery, got, later)
	}
	// Session writes do not wake live pages.
	select {
	case <-changed:
		t.Error("signing in and using the console woke the change feed")
	default:
	}
}

func TestSignOutEndsStoredSession(t *testing.T) {
	e := newEnv(t)
	ck := e.signedIn()
	s, err := e.c.sessions.get(context.Background(), ck.Value)
	if err != nil || s == nil {
		t.Fatalf("session: %v, %v", s, err)
	}
	e.cookie, e.csrf = ck, s.csrf
	e.post("/console/signout", nil)
	var n int
	e.st.View(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.ConsoleSession(hashID(ck.Value)); err == nil {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Error("the session is still in the store after sign-out")
	}
}

func TestConsoleURLOverTLS(t *testing.T) {
	e := newEnv(t)
	h := e.c.TokenHandler(verifierFunc(func(*http.Request) error { return nil }))
	req := httptest.NewRequest("POST", TokenPath, nil)
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `"url":"https://example.com/console/signin/link?token=`) {
		t.Errorf("link asked for over TLS: %s, want an https link", rec.Body)
	}
}
