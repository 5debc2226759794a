package autodeploy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSameRepository(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://github.com/org/repo.git", "git@github.com:org/repo.git", true},
		{"https://GitHub.com/org/repo", "ssh://git@github.com/org/repo.git", true},
		{"https://github.com/org/repo", "git://github.com/org/repo.git", true},
		{"https://github.com/org/repo", "https://github.com/org/repo2", false},
		{"https://github.com/org/repo", "https://gitlab.com/org/repo", false},
		{"/srv/git/mono", "file:///srv/git/mono", true},
		{"/srv/git/mono/", "file:///srv/git/mono.git", true},
		{"/srv/git/mono", "/srv/git/other", false},
	}
	for _, tt := range tests {
		if got := SameRepository(tt.a, tt.b); got != tt.want {
			t.Errorf("SameRepository(%q, %q) = %v, want %v (normalized %q, %q)", tt.a, tt.b, got, tt.want, normalize(tt.a), normalize(tt.b))
		}
	}
}

func TestValidSignature(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	good := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	tests := []struct {
		header string
		want   bool
	}{
		{good, true},
		{"", false},
		{"sha1=" + hex.EncodeToString(mac.Sum(nil)), false},
		{"sha256=00", false},
		{"sha256=zz", false},
	}
	for _, tt := range tests {
		if got := validSignature(secret, body, tt.header); got != tt.want {
			t.Errorf("validSignature(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
	if validSignature([]byte("other"), body, good) {
		t.Error("a signature made with another secret was accepted")
	}
}

// unreadBody fails the test if it is read.
type unreadBody struct{ t *testing.T }

func (b unreadBody) Read([]byte) (int, error) {
	b.t.Error("the body was read before the headers were checked")
	return 0, io.EOF
}

func (unreadBody) Close() error { return nil }

func TestGitHubHandlerRefusesFromHeaders(t *testing.T) {
	h := GitHubHandler([]byte("s3cret"), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	good := "sha256=" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, sig, event string
		length           int64
		want             int
	}{
		{"no signature", "", "push", 10, http.StatusUnauthorized},
		{"malformed signature", "sha256=zz", "push", 10, http.StatusUnauthorized},
		{"ignored event", good, "issues", 10, http.StatusAccepted},
		{"larger than GitHub sends", good, "push", maxPayload + 1, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/github", nil)
			req.Body, req.ContentLength = unreadBody{t}, tc.length
			if tc.sig != "" {
				req.Header.Set("X-Hub-Signature-256", tc.sig)
			}
			req.Header.Set("X-GitHub-Event", tc.event)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}
