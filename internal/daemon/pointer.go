package daemon

import (
	"os"
	"path/filepath"
)

// PointerPath is where a starting server records its data directory, so
// that `slipway env`, `logs`, `deployments` and `console-url` find a
// server started with --data-dir without being told:
// $XDG_CONFIG_HOME/slipway/data-dir (~/.config/slipway/data-dir).
func PointerPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "slipway", "data-dir"), nil
}

// writePointer records dataDir as the last started server's.
func writePointer(dataDir string) error {
	p, err := PointerPath()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(p, []byte(abs+"\n"), 0o600)
}

// PointedDataDir returns the data directory the last started server
// recorded, if it still holds a server's endpoint file.
func PointedDataDir() (string, bool) {
	p, err := PointerPath()
	if err != nil {
		return "", false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	dir := string(b)
	for len(dir) > 0 && (dir[len(dir)-1] == '\n' || dir[len(dir)-1] == '\r') {
		dir = dir[:len(dir)-1]
	}
	if _, err := os.Stat(EndpointPath(dir)); err != nil {
		return "", false
	}
	return dir, true
}
