package autodeploy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxPayload is GitHub's limit for webhook payloads.
const maxPayload = 25 << 20

// pushEvent is the part of GitHub's push payload Slipway reads. Only the
// repository URLs and the ref: what changed is read from the repository
// itself after a fetch, never from the payload.
type pushEvent struct {
	Ref        string `json:"ref"`
	Repository struct {
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
		GitURL   string `json:"git_url"`
		URL      string `json:"url"`
	} `json:"repository"`
}

// GitHubHandler serves GitHub push webhooks (POST /webhooks/github). A
// request without a valid X-Hub-Signature-256 for secret gets 401 and
// changes nothing; a push to a watched branch triggers a fetch of the
// repository and a decision for each of its services.
func GitHubHandler(secret []byte, w *Watcher, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		// What the headers can refuse is refused before the body is read:
		// the signature's form, events Slipway ignores, and sizes above
		// GitHub's own limit.
		sig := r.Header.Get("X-Hub-Signature-256")
		if hexSig, ok := strings.CutPrefix(sig, "sha256="); !ok || len(hexSig) != 2*sha256.Size {
			log.Warn("webhook with a missing or malformed signature", "remote", r.RemoteAddr)
			http.Error(rw, "missing or invalid X-Hub-Signature-256", http.StatusUnauthorized)
			return
		}
		event := r.Header.Get("X-GitHub-Event")
		if event != "push" && event != "ping" {
			writeJSON(rw, http.StatusAccepted, map[string]any{"ignored": "not a push event"})
			return
		}
		if r.ContentLength > maxPayload {
			http.Error(rw, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
		if err != nil || len(body) > maxPayload {
			http.Error(rw, "payload too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		if !validSignature(secret, body, sig) {
			log.Warn("webhook with a missing or wrong signature", "remote", r.RemoteAddr)
			http.Error(rw, "missing or invalid X-Hub-Signature-256", http.StatusUnauthorized)
			return
		}
		if event == "ping" {
			writeJSON(rw, http.StatusOK, map[string]any{"ok": true})
			return
		}
		var ev pushEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(rw, "malformed push payload: "+err.Error(), http.StatusBadRequest)
			return
		}
		branch, ok := strings.CutPrefix(ev.Ref, "refs/heads/")
		if !ok {
			writeJSON(rw, http.StatusAccepted, map[string]any{"ignored": "not a branch push"})
			return
		}
		urls, branches, err := w.URLs(r.Context())
		if err != nil {
			http.Error(rw, "internal error", http.StatusInternalServerError)
			return
		}
		pushed := []string{ev.Repository.CloneURL, ev.Repository.SSHURL, ev.Repository.HTMLURL, ev.Repository.GitURL, ev.Repository.URL}
		matched := 0
		for _, u := range urls {
			if !slices.Contains(branches[u], branch) {
				continue
			}
			for _, p := range pushed {
				if p != "" && SameRepository(u, p) {
					w.Trigger(u, "webhook")
					matched++
					break
				}
			}
		}
		writeJSON(rw, http.StatusAccepted, map[string]any{"matched": matched})
	})
}

func validSignature(secret, body []byte, header string) bool {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// SameRepository reports whether two repository URLs name the same
// repository: https, ssh (scp-like too), git:// and file:// URLs and local
// paths compare by host and path, ignoring a .git suffix and case of the
// host.
func SameRepository(a, b string) bool {
	return normalize(a) == normalize(b)
}

func normalize(raw string) string {
	s := strings.TrimSpace(raw)
	if i := strings.Index(s, "://"); i < 0 && strings.Contains(s, ":") && !strings.HasPrefix(s, "/") {
		// scp-like: git@github.com:org/repo.git
		host, path, _ := strings.Cut(s, ":")
		s = "ssh://" + host + "/" + path
	}
	host, path := "", s
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		host, path = strings.ToLower(u.Hostname()), u.Path
	}
	path = strings.TrimSuffix(strings.TrimRight(path, "/"), ".git")
	return host + "/" + strings.TrimLeft(path, "/")
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}
