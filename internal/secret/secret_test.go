package secret

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "db-password"), []byte("hunter2\n"), 0o600)
	os.MkdirAll(filepath.Join(dir, "prod"), 0o700)
	os.WriteFile(filepath.Join(dir, "prod", "token"), []byte("t0k"), 0o600)
	s := Store{Dir: dir}
	tests := []struct {
		ref, want string
		wantErr   error
	}{
		{"arn:aws:secretsmanager:us-east-1:000000000000:secret:db-password", "hunter2", nil},
		{"arn:aws:secretsmanager:us-east-1:000000000000:secret:db-password-AbCdEf", "hunter2", nil},
		{"arn:aws:ssm:us-east-1:000000000000:parameter/prod/token", "t0k", nil},
		{"db-password", "hunter2", nil},
		{"arn:aws:secretsmanager:us-east-1:000000000000:secret:missing", "", ErrNotFound},
	}
	for _, tt := range tests {
		got, err := s.Resolve(context.Background(), tt.ref)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Resolve(%q) err = %v, want %v", tt.ref, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
		}
	}
	for _, bad := range []string{"arn:aws:s3:::bucket/x", "../etc/passwd", "arn:aws:ssm:us-east-1:0:parameter/../../x"} {
		if _, err := s.Resolve(context.Background(), bad); err == nil {
			t.Errorf("Resolve(%q) succeeded, want an error", bad)
		}
	}
}
