package secret

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "db-password"), []byte("hunter2\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, "prod"), 0o700)
	os.WriteFile(filepath.Join(dir, "prod", "token"), []byte("t0k"), 0o600)
	os.WriteFile(filepath.Join(dir, "prod", "db"), []byte(`{"username": "app", "password": "s3cr3t:with:colons", "port": 5432, "opts": {"ssl": true}}`+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "not-json"), []byte("hunter2\n"), 0o600)
	s := Store{Dir: dir}
	const sm = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
	tests := []struct {
		ref, want string
		wantErr   error
	}{
		{sm + "db-password", "hunter2", nil},
		{sm + "db-password-AbCdEf", "hunter2", nil},
		{"arn:aws:ssm:us-east-1:000000000000:parameter/prod/token", "t0k", nil},
		{"db-password", "hunter2", nil},
		{sm + "missing", "", ErrNotFound},
		// App Runner's documented form: NAME:JSON-KEY:VERSION-STAGE:VERSION-ID.
		{sm + "prod/db-AbCdEf:username::", "app", nil},
		{sm + "prod/db:password::", "s3cr3t:with:colons", nil},
		{sm + "prod/db-AbCdEf:username:AWSCURRENT:", "app", nil},
		{sm + "prod/db-AbCdEf:username", "app", nil}, // the trailing colons may be left out
		{sm + "prod/db:port::", "5432", nil},
		{sm + "prod/db:opts::", `{"ssl":true}`, nil},
		{sm + "prod/db-AbCdEf:::", `{"username": "app", "password": "s3cr3t:with:colons", "port": 5432, "opts": {"ssl": true}}`, nil},
		{sm + "prod/db:email::", "", ErrNoKey},
		{sm + "not-json:username::", "", ErrNoKey},
		{sm + "prod/db:username:AWSPREVIOUS:", "", ErrVersion},
		{sm + "prod/db:username::EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE", "", ErrVersion},
		{sm + "prod/db-AbCdEf:username::missing-key-too", "", ErrVersion},
	}
	for _, tt := range tests {
		got, err := s.Resolve(context.Background(), tt.ref)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Resolve(%q) err = %v, want %v", tt.ref, err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cr3t")) {
				t.Errorf("Resolve(%q) err = %v shows the secret's value", tt.ref, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
	for _, bad := range []string{
		"arn:aws:s3:::bucket/x", "../etc/passwd", "arn:aws:ssm:us-east-1:0:parameter/../../x",
		"arn:aws:ssm:us-east-1:0:parameter/a:b", sm + "../x:key::", sm + "a:b:c:d:e", sm + ":key::",
	} {
		if _, err := s.Resolve(context.Background(), bad); err == nil {
			t.Errorf("Resolve(%q) succeeded, want an error", bad)
		}
	}
	// A name that becomes a path element ".." once AWS's suffix is
	// stripped is refused as a name, not looked up.
	for _, bad := range []string{sm + "..-abcdef", sm + "prod/..-AbCdEf:username::", sm + "prod/.-AbCdEf"} {
		if _, err := s.Resolve(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "invalid secret name") {
			t.Errorf("Resolve(%q) err = %v, want an invalid secret name", bad, err)
		}
	}
}
