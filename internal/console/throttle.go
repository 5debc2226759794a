package console

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Sign-in throttling: a client may fail signinBurst times in a row, then
// once every signinRefill; a minute without failures restores the burst.
const (
	signinBurst  = 5
	signinRefill = time.Minute / signinBurst
	// maxClients bounds the memory throttling takes, whatever the number
	// of addresses failing.
	maxClients = 10000
)

// debt is a client's failed sign-ins as a time: each failure adds
// signinRefill, and the debt is paid off at paidAt (a generic cell rate
// algorithm: one timestamp instead of a bucket's count and time).
type debt struct {
	paidAt time.Time
}

// wait is how long the client must wait before its next attempt at now;
// 0 if it may try now.
func (d debt) wait(now time.Time) time.Duration {
	if !d.paidAt.After(now) {
		return 0 // and the zero debt's Sub would overflow
	}
	return max(0, d.paidAt.Sub(now)-(signinBurst-1)*signinRefill)
}

// fail is the debt after a failed attempt at now.
func (d debt) fail(now time.Time) debt {
	if d.paidAt.Before(now) {
		d.paidAt = now
	}
	return debt{paidAt: d.paidAt.Add(signinRefill)}
}

// throttle remembers the debts of clients that failed to sign in.
type throttle struct {
	max int

	mu    sync.Mutex
	debts map[string]debt // client → its debt, until paid off
}

func newThrottle(maxClients int) *throttle {
	return &throttle{max: maxClients, debts: map[string]debt{}}
}

// wait is how long client must wait before its next sign-in attempt.
func (t *throttle) wait(client string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.debts[client].wait(now)
}

// fail records a failed sign-in attempt by client.
func (t *throttle) fail(client string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.debts[client]; !ok && len(t.debts) >= t.max {
		t.evictLocked(now)
	}
	t.debts[client] = t.debts[client].fail(now)
}

// evictLocked makes room for one more client: it forgets paid-off debts
// and, if the map is still full, the debt closest to being paid off.
func (t *throttle) evictLocked(now time.Time) {
	var (
		least   string
		leastAt time.Time
	)
	for c, d := range t.debts {
		switch {
		case !d.paidAt.After(now):
			delete(t.debts, c)
		case least == "" || d.paidAt.Before(leastAt):
			least, leastAt = c, d.paidAt
		}
	}
	if len(t.debts) >= t.max {
		delete(t.debts, least)
	}
}

// clientOf names the client of a request for throttling: its address
// (the console is served directly, not behind a proxy), and for IPv6 its
// /64, which one host can fill with addresses of its own.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
