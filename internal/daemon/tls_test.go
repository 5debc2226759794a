package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDNS01Flags(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	bindKey := filepath.Join(dir, "bind.key")
	bad := filepath.Join(dir, "bad")
	os.WriteFile(key, []byte("3q2+7w==\n"), 0o600)
	os.WriteFile(bindKey, []byte("key \"acme\" {\n\talgorithm hmac-sha256;\n\tsecret \"3q2+7w==\";\n};\n"), 0o600)
	os.WriteFile(bad, []byte("not base64\n"), 0o600)
	ok := RFC2136{Server: "127.0.0.1:53", KeyName: "acme", KeyAlg: "hmac-sha256", KeyFile: key}
	with := func(f func(*RFC2136)) RFC2136 { r := ok; f(&r); return r }
	tests := []struct {
		name    string
		dns, ca string
		r       RFC2136
		want    string // in the error; "" for none
		enabled bool
	}{
		{name: "off", ca: "https://ca/dir", r: RFC2136{KeyAlg: "hmac-sha256"}},
		{name: "rfc2136", dns: "rfc2136", ca: "https://ca/dir", r: ok, enabled: true},
		{name: "tsig-keygen's key file", dns: "rfc2136", ca: "https://ca/dir", r: with(func(r *RFC2136) { r.KeyFile = bindKey }), enabled: true},
		{name: "flags without --acme-dns", ca: "https://ca/dir", r: ok, want: "without --acme-dns rfc2136"},
		{name: "unknown provider", dns: "route53", ca: "https://ca/dir", r: ok, want: "only DNS provider is rfc2136"},
		{name: "no CA", dns: "rfc2136", r: ok, want: "--acme-ca"},
		{name: "no server", dns: "rfc2136", ca: "https://ca/dir", r: with(func(r *RFC2136) { r.Server = "" }), want: "--rfc2136-server"},
		{name: "no key file", dns: "rfc2136", ca: "https://ca/dir", r: with(func(r *RFC2136) { r.KeyFile = filepath.Join(dir, "nope") }), want: "--rfc2136-key-file"},
		{name: "bad secret", dns: "rfc2136", ca: "https://ca/dir", r: with(func(r *RFC2136) { r.KeyFile = bad }), want: "base64"},
		{name: "bad algorithm", dns: "rfc2136", ca: "https://ca/dir", r: with(func(r *RFC2136) { r.KeyAlg = "hmac-md5" }), want: "TSIG algorithm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dns01(Config{ACMEDNS: tt.dns, ACMECA: tt.ca, RFC2136: tt.r})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("dns01: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("dns01: %v, want an error with %q", err, tt.want)
			case (got != nil) != tt.enabled:
				t.Fatalf("dns01 = %v, want enabled %v", got, tt.enabled)
			case got != nil && (len(got.Resolvers) != 1 || got.Resolvers[0] != tt.r.Server):
				t.Errorf("resolvers %v, want the server itself", got.Resolvers)
			}
		})
	}
}
