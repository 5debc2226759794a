package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/slipwayhq/slipway/internal/store"
)

// Cookie names. The sign-in cookie carries the double-submit token of the
// sign-in form, which has no session to hold a CSRF token yet.
const (
	sessionCookie = "slipway_session"
	signinCookie  = "slipway_signin"
	csrfField     = "csrf"
)

// Session lifetimes: a session ends after defaultSessionIdle without use
// or defaultSessionLifetime after sign-in, whichever comes first.
const (
	defaultSessionIdle     = 12 * time.Hour
	defaultSessionLifetime = 24 * time.Hour
	// touchEvery spaces out writes of a session's last use, so browsing
	// does not write the store on every request. Idle sessions may
	// therefore end up to touchEvery early.
	touchEvery = time.Minute
)

// session is a signed-in browser.
type session struct {
	csrf string
}

// sessionPolicy is when sessions end.
type sessionPolicy struct {
	idle, lifetime time.Duration
}

// judge says whether a stored session is still live at now and, if so,
// whether its last use is due to be recorded.
func (p sessionPolicy) judge(s store.ConsoleSession, now time.Time) (live, touch bool) {
	if now.Sub(s.LastSeenAt) > p.idle || now.Sub(s.CreatedAt) > p.lifetime {
		return false, false
	}
	return true, now.Sub(s.LastSeenAt) >= touchEvery
}

// sessions keeps sessions in the store, so that a daemon restart signs no
// one out, and one-time sign-in links in memory: a restart voids links,
// which last minutes and are easily made again.
type sessions struct {
	policy  sessionPolicy
	linkTTL time.Duration
	now     func() time.Time
	store   *store.Store

	mu    sync.Mutex
	links map[string]time.Time // one-time link token → expiry
}

func newSessions(policy sessionPolicy, linkTTL time.Duration, st *store.Store, now func() time.Time) *sessions {
	return &sessions{policy: policy, linkTTL: linkTTL, store: st, now: now, links: map[string]time.Time{}}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashID is what the store keeps of a session cookie: a leaked database
// then holds nothing a browser could present.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session and returns its cookie value. Expired sessions
// are deleted on the way, so abandoned ones do not pile up.
func (s *sessions) create(ctx context.Context) (string, *session, error) {
	id := randomToken()
	now := s.now()
	row := store.ConsoleSession{IDHash: hashID(id), CSRF: randomToken(), CreatedAt: now, LastSeenAt: now}
	err := s.store.UpdateQuiet(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteConsoleSessionsBefore(now.Add(-s.policy.idle), now.Add(-s.policy.lifetime)); err != nil {
			return err
		}
		return tx.PutConsoleSession(row)
	})
	if err != nil {
		return "", nil, fmt.Errorf("start session: %w", err)
	}
	return id, &session{csrf: row.CSRF}, nil
}

// get returns the live session with this cookie value, or nil, and
// records its use now and then.
func (s *sessions) get(ctx context.Context, id string) (*session, error) {
	h := hashID(id)
	var row store.ConsoleSession
	err := s.store.View(ctx, func(tx *store.Tx) (err error) {
		row, err = tx.ConsoleSession(h)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	now := s.now()
	live, touch := s.policy.judge(row, now)
	switch {
	case !live:
		err = s.store.UpdateQuiet(ctx, func(tx *store.Tx) error { return tx.DeleteConsoleSession(h) })
	case touch:
		err = s.store.UpdateQuiet(ctx, func(tx *store.Tx) error { return tx.TouchConsoleSession(h, now) })
	}
	if err != nil {
		return nil, fmt.Errorf("update session: %w", err)
	}
	if !live {
		return nil, nil
	}
	return &session{csrf: row.CSRF}, nil
}

func (s *sessions) remove(ctx context.Context, id string) error {
	return s.store.UpdateQuiet(ctx, func(tx *store.Tx) error { return tx.DeleteConsoleSession(hashID(id)) })
}

// newLink returns a one-time sign-in token.
func (s *sessions) newLink() string {
	tok := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLinksLocked()
	s.links[tok] = s.now().Add(s.linkTTL)
	return tok
}

// useLink consumes a one-time token, reporting whether it was valid.
func (s *sessions) useLink(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.links[tok]
	delete(s.links, tok)
	return ok && !s.now().After(exp)
}

func (s *sessions) pruneLinksLocked() {
	now := s.now()
	for tok, exp := range s.links {
		if now.After(exp) {
			delete(s.links, tok)
		}
	}
}

type sessionKey struct{}

// sessionOf returns the session authed put in the request context.
func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// authed serves h only to signed-in browsers. Others get the sign-in page
// (a redirect for pages, 401 for streams and posts), never data. Every
// POST must carry the session's CSRF token.
func (c *Console) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		if ck, err := r.Cookie(sessionCookie); err == nil {
			if sess, err = c.sessions.get(r.Context(), ck.Value); err != nil {
				c.log.Error("console session", "err", err)
				http.Error(w, "could not read the session: try again", http.StatusInternalServerError)
				return
			}
		}
		if sess == nil {
			if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, "/console/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && !validCSRF(r, sess.csrf) {
			http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

func validCSRF(r *http.Request, want string) bool {
	got := r.PostFormValue(csrfField)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setSessionCookie signs the browser in. SameSite=Strict keeps other sites
// from sending it along; HttpOnly keeps scripts from reading it; Secure,
// over TLS, keeps the browser from sending it over plain HTTP. It lasts as
// long as the session can; the server ends idle sessions sooner.
func (c *Console) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		MaxAge: int(c.cfg.SessionLifetime.Seconds()),
	})
}
