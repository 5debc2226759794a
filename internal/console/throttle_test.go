package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestDebt(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name     string
		failures []time.Duration // when each failure happened, after t0
		at       time.Duration
		want     time.Duration
	}{
		{"no failures", nil, 0, 0},
		{"four quick failures", []time.Duration{0, 0, 0, 0}, 0, 0},
		{"five quick failures", []time.Duration{0, 0, 0, 0, 0}, 0, signinRefill},
		{"five, a little later", []time.Duration{0, 0, 0, 0, 0}, 5 * time.Second, signinRefill - 5*time.Second},
		{"five, one refill later", []time.Duration{0, 0, 0, 0, 0}, signinRefill, 0},
		{"a sixth after one refill", []time.Duration{0, 0, 0, 0, 0, signinRefill}, signinRefill, signinRefill},
		{"five spread over a minute", []time.Duration{0, 15 * time.Second, 30 * time.Second, 45 * time.Second, time.Minute}, time.Minute, 0},
		{"ten quick failures", []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 6 * signinRefill},
		{"an old burst is forgotten", []time.Duration{0, 0, 0, 0, 0, time.Hour, time.Hour, time.Hour, time.Hour}, time.Hour, 0},
	} {
		var d debt
		for _, f := range c.failures {
			d = d.fail(t0.Add(f))
		}
		if got := d.wait(t0.Add(c.at)); got != c.want {
			t.Errorf("%s: wait at %s = %s, want %s", c.name, c.at, got, c.want)
		}
	}
}

func TestThrottleIsBounded(t *testing.T) {
	now := time.Now()
	th := newThrottle(3)
	// a's debt is paid off by the time d comes; b is nearest paying off.
	th.fail("a", now.Add(-time.Hour))
	th.fail("b", now.Add(-time.Second))
	th.fail("c", now)
	th.fail("c", now)
	th.fail("d", now)
	if len(th.debts) != 3 || th.debts["a"] != (debt{}) {
		t.Errorf("after a fourth client: %v, want a, whose debt is paid, forgotten", th.debts)
	}
	th.fail("e", now)
	if len(th.debts) != 3 || th.debts["b"] != (debt{}) || th.debts["c"] == (debt{}) {
		t.Errorf("after a fifth client: %v, want b, the smallest debt, forgotten", th.debts)
	}
	for i := range 1000 {
		th.fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256), now)
	}
	if len(th.debts) != 3 {
		t.Errorf("after 1000 more clients: %d remembered, want at most 3", len(th.debts))
	}
}

func TestClientOf(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:1234":             "192.0.2.1",
		"[::ffff:192.0.2.1]:1234":    "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:443": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"[::1]:8600":                 "::/64",
		"not an address":             "not an address",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		if got := clientOf(r); got != want {
			t.Errorf("clientOf(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestSigninLinkRateLimited(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	e.c.now = func() time.Time { return start }
	get := func(token string) int {
		r := httptest.NewRequest("GET", "/console/signin/link?token="+token, nil)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		return rec.Code
	}
	for range signinBurst {
		if got := get("guessed"); got != http.StatusUnauthorized {
			t.Fatalf("wrong link: status %d, want 401", got)
		}
	}
	if got := get(e.c.sessions.newLink()); got != http.StatusTooManyRequests {
		t.Errorf("link after %d wrong ones: status %d, want 429", signinBurst, got)
	}
}
