package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
)

// WorkDir returns root/rel, the directory a build or an instance runs in,
// which must be a directory inside root.
func WorkDir(root, rel string) (string, error) {
	if rel == "" {
		rel = "."
	}
	if !filepath.IsLocal(rel) && filepath.Clean(rel) != "." {
		return "", fmt.Errorf("source directory %q is not inside the repository", rel)
	}
	dir := filepath.Join(root, rel)
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.IsDir()) {
		return "", fmt.Errorf("source directory %q does not exist in the repository", rel)
	}
	if err != nil {
		return "", fmt.Errorf("source directory: %w", err)
	}
	return dir, nil
}

// ListenPort is the port an instance of spec listens on: its configured
// port when it has a network namespace of its own (ownNetwork), a free
// loopback port on the host's network, where every instance needs one of
// its own whatever the app is configured with.
func ListenPort(spec InstanceSpec, ownNetwork bool) (int, error) {
	if !ownNetwork || spec.Port == 0 {
		return FreePort()
	}
	return spec.Port, nil
}

// FreePort asks the kernel for a free loopback port for an instance.
// Another process may take it before the app binds it; the instance then
// fails its health check and is replaced.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("choose port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
