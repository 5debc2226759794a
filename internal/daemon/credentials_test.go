package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestLoadOrCreateCredentials(t *testing.T) {
	dir := t.TempDir()
	c, err := loadOrCreateCredentials(dir)
	if err != nil {
		t.Fatalf("loadOrCreateCredentials: %v", err)
	}
	if !regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`).MatchString(c.AccessKeyID) {
		t.Errorf("AccessKeyID = %q, want AKIA and 16 base32 characters", c.AccessKeyID)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`).MatchString(c.SecretAccessKey) {
		t.Errorf("SecretAccessKey = %q, want 40 base64 characters", c.SecretAccessKey)
	}

	path := CredentialsPath(dir)
	if path != filepath.Join(dir, "credentials") {
		t.Errorf("CredentialsPath = %q, want DIR/credentials", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("credentials mode = %v, want 0600", mode)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "[default]\naws_access_key_id = " + c.AccessKeyID + "\naws_secret_access_key = " + c.SecretAccessKey + "\n"
	if string(b) != want {
		t.Errorf("credentials file:\n%s\nwant:\n%s", b, want)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("data dir holds %q, want only credentials", names)
	}

	again, err := loadOrCreateCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again != c {
		t.Errorf("second loadOrCreateCredentials = %+v, want the same keys %+v", again, c)
	}
	read, err := ReadCredentials(dir)
	if err != nil || read != c {
		t.Errorf("ReadCredentials = %+v, %v; want %+v", read, err, c)
	}

	other, err := loadOrCreateCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.AccessKeyID == c.AccessKeyID || other.SecretAccessKey == c.SecretAccessKey {
		t.Error("two data dirs got the same keys")
	}
}

func TestReadCredentials(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    Credentials
		wantErr bool
	}{
		{
			name:    "default profile",
			content: "[default]\naws_access_key_id = AKID\naws_secret_access_key = SECRET\n",
			want:    Credentials{"AKID", "SECRET"},
		},
		{
			name: "other profiles, comments and spacing",
			content: "# slipway\n[other]\naws_access_key_id = NOPE\naws_secret_access_key = NOPE\n\n" +
				"[default]\n  aws_access_key_id=AKID  \naws_secret_access_key =SEC=RET\nregion = us-east-1\n[after]\naws_access_key_id = LATER\n",
			want: Credentials{"AKID", "SEC=RET"},
		},
		{name: "no default profile", content: "[other]\naws_access_key_id = A\naws_secret_access_key = B\n", wantErr: true},
		{name: "secret missing", content: "[default]\naws_access_key_id = A\n", wantErr: true},
		{name: "empty", content: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(CredentialsPath(dir), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadCredentials(dir)
			if tt.wantErr {
				if err == nil {
					t.Errorf("ReadCredentials = %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ReadCredentials = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestLoadOrCreateCredentialsKeepsBadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(CredentialsPath(dir), []byte("[default]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := loadOrCreateCredentials(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		t.Fatalf("loadOrCreateCredentials over a broken file: err %v, want a parse error", err)
	}
	b, _ := os.ReadFile(CredentialsPath(dir))
	if string(b) != "[default]\n" {
		t.Errorf("the broken file was overwritten: %q", b)
	}
}

func TestReadCredentialsMissing(t *testing.T) {
	_, err := ReadCredentials(t.TempDir())
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadCredentials of a missing file: %v, want os.ErrNotExist", err)
	}
}

func TestCredentialsSecret(t *testing.T) {
	c := Credentials{AccessKeyID: "AKID", SecretAccessKey: "S"}
	if s, ok := c.Secret("AKID"); !ok || s != "S" {
		t.Errorf("Secret(AKID) = %q, %v; want S, true", s, ok)
	}
	if s, ok := c.Secret("OTHER"); ok || s != "" {
		t.Errorf("Secret(OTHER) = %q, %v; want \"\", false", s, ok)
	}
}

func TestEndpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	content := `{"api":"http://127.0.0.1:1","router":"127.0.0.1:2","region":"us-east-1","domain":"localhost"}`
	if err := writeFileAtomic(EndpointPath(dir), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	ep, err := ReadEndpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Endpoint{API: "http://127.0.0.1:1", Router: "127.0.0.1:2", Region: "us-east-1", Domain: "localhost"}
	if ep != want {
		t.Errorf("ReadEndpoint = %+v, want %+v", ep, want)
	}
	if !strings.HasSuffix(EndpointPath(dir), "server.json") {
		t.Errorf("EndpointPath = %q", EndpointPath(dir))
	}
}
