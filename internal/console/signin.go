package console

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TokenPath is Slipway's SigV4-signed endpoint that issues one-time
// sign-in links (`slipway console-url`).
const TokenPath = "/slipway/v1/console-token"

// Verifier checks a request's SigV4 signature (api.Authenticator).
type Verifier interface {
	Verify(ctx context.Context, r *http.Request, body []byte) (string, error)
}

// TokenResponse is what TokenPath answers.
type TokenResponse struct {
	URL string `json:"url"`
}

// TokenHandler serves POST TokenPath: a request signed with the access key
// gets a one-time sign-in link for a browser.
func (c *Console) TokenHandler(v Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := v.Verify(r.Context(), r, nil); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		tok := c.sessions.newLink()
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(TokenResponse{URL: scheme + r.Host + "/console/signin/link?token=" + url.QueryEscape(tok)})
	})
}

type signinData struct {
	Token string // double-submit token of the form
	Next  string
	Error string
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	c.renderSignin(w, r, http.StatusOK, "")
}

func (c *Console) renderSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: tok, Path: "/console/signin",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 3600})
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, status, "signin", page{Title: "Sign in", Data: signinData{Token: tok, Next: safeNext(r.FormValue("next")), Error: msg}})
}

// signin checks the access key pair that `slipway env` prints.
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(signinCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		http.Error(w, "missing or wrong CSRF token: reload the sign-in page and try again", http.StatusForbidden)
		return
	}
	if c.throttled(w, r) {
		return
	}
	id := strings.TrimSpace(r.PostFormValue("access_key_id"))
	secret := strings.TrimSpace(r.PostFormValue("secret_access_key"))
	want, ok := c.keys.Secret(id)
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		c.throttle.fail(clientOf(r), c.now())
		c.log.Debug("console sign-in refused", "access_key_id", id, "client", clientOf(r))
		c.renderSignin(w, r, http.StatusUnauthorized, "Wrong access key ID or secret access key.")
		return
	}
	if !c.startSession(w, r) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Path: "/console/signin", MaxAge: -1})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// throttled answers 429 if the request's client failed to sign in too
// often lately, and reports whether it did.
func (c *Console) throttled(w http.ResponseWriter, r *http.Request) bool {
	wait := c.throttle.wait(clientOf(r), c.now())
	if wait <= 0 {
		return false
	}
	secs := int((wait + time.Second - 1) / time.Second)
	c.log.Debug("console sign-in throttled", "client", clientOf(r), "retry_after", secs)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	c.renderSignin(w, r, http.StatusTooManyRequests,
		fmt.Sprintf("Too many failed sign-ins from your address: try again in %d seconds.", secs))
	return true
}

// startSession signs the browser in, reporting whether it could.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request) bool {
	sid, _, err := c.sessions.create(r.Context())
	if err != nil {
		c.log.Error("console sign-in", "err", err)
		http.Error(w, "could not start a session: try again", http.StatusInternalServerError)
		return false
	}
	c.setSessionCookie(w, r, sid)
	return true
}

// signinLink consumes a one-time link from `slipway console-url`. Wrong
// tokens count as failed sign-ins, like wrong keys.
func (c *Console) signinLink(w http.ResponseWriter, r *http.Request) {
	if c.throttled(w, r) {
		return
	}
	if !c.sessions.useLink(r.URL.Query().Get("token")) {
		c.throttle.fail(clientOf(r), c.now())
		c.renderSignin(w, r, http.StatusUnauthorized, "That sign-in link is used or expired: run `slipway console-url` again.")
		return
	}
	if !c.startSession(w, r) {
		return
	}
	// Redirect so the token leaves the address bar and history.
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if err := c.sessions.remove(r.Context(), ck.Value); err != nil {
			c.log.Error("console sign-out", "err", err)
			http.Error(w, "could not end the session: try again", http.StatusInternalServerError)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: Prefix, MaxAge: -1, Secure: r.TLS != nil})
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// safeNext keeps redirects after sign-in inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
