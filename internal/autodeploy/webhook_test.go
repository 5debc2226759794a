package autodeploy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
