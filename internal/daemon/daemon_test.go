package daemon

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrivateDir(t *testing.T) {
	root := t.TempDir()
	existing := filepath.Join(root, "existing")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(existing, 0o755) // whatever the umask made of it
	tests := []struct{ name, dir string }{
		{"an existing, readable directory", existing},
		{"a new directory with new parents", filepath.Join(root, "a", "b")},
	}
	for _, tt := range tests {
		if err := privateDir(tt.dir); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		fi, err := os.Stat(tt.dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s: mode = %v, want 0700", tt.name, got)
		}
	}
}
