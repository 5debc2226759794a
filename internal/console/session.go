package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Cookie names. The sign-in cookie carries the double-submit token of the
// sign-in form, which has no session to hold a CSRF token yet.
const (
	sessionCookie = "slipway_session"
	signinCookie  = "slipway_signin"
	csrfField     = "csrf"
)

// session is a signed-in browser.
type session struct {
	csrf    string
	expires time.Time
}

// sessions holds sessions and one-time sign-in links in memory: a daemon
// restart signs everyone out, which is the safe direction to fail.
type sessions struct {
	ttl, linkTTL time.Duration
	now          func() time.Time

	mu    sync.Mutex
	byID  map[string]*session  // session cookie value → session
	links map[string]time.Time // one-time link token → expiry
}

func newSessions(ttl, linkTTL time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, linkTTL: linkTTL, now: now, byID: map[string]*session{}, links: map[string]time.Time{}}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session and returns its cookie value.
func (s *sessions) create() (string, *session) {
	id := randomToken()
	sess := &session{csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
	s.byID[id] = sess
	return id, sess
}

// get returns the live session with this cookie value and extends it.
func (s *sessions) get(id string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	if s.now().After(sess.expires) {
		delete(s.byID, id)
		return nil, false
	}
	sess.expires = s.now().Add(s.ttl)
	return sess, true
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// newLink returns a one-time sign-in token.
func (s *sessions) newLink() string {
	tok := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked()
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

func (s *sessions) pruneLocked() {
	now := s.now()
	for id, sess := range s.byID {
		if now.After(sess.expires) {
			delete(s.byID, id)
		}
	}
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
			sess, _ = c.sessions.get(ck.Value)
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
// from sending it along; HttpOnly keeps scripts from reading it.
func (c *Console) setSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		MaxAge: int(c.cfg.SessionTTL.Seconds()),
	})
}
