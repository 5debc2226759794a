package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/slipwayhq/slipway/internal/certs"
	"github.com/slipwayhq/slipway/internal/daemon"
)

// systemCADir is where Debian's update-ca-certificates picks up local CAs.
const systemCADir = "/usr/local/share/ca-certificates"

func runTrust(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("trust", flag.ContinueOnError)
	dataDir := fs.String("data-dir", clientDataDir(), "state directory of the server (default: $SLIPWAY_DATA_DIR, else the last started server's, else ~/.slipway)")
	install := fs.Bool("install", false, "install the root in the system's trust store ("+systemCADir+", update-ca-certificates)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := certs.LocalRoot(daemon.CertsDir(*dataDir))
	if err != nil {
		return err
	}
	if !*install {
		_, err = out.Write(root)
		return err
	}
	path := filepath.Join(systemCADir, "slipway-local-ca.crt")
	if err := os.MkdirAll(systemCADir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, root, 0o644); err != nil {
		return err
	}
	cmd := exec.Command("update-ca-certificates")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("update-ca-certificates: %w", err)
	}
	fmt.Fprintf(out, "installed %s\n", path)
	return nil
}
