package git

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// plainAttributes goes into each mirror's info/attributes, which outranks
// the .gitattributes files inside the tree. It switches off export-ignore
// and export-subst so that Export yields exactly the committed files, as a
// clone would, rather than a release tarball.
const plainAttributes = "* -export-ignore -export-subst\n"

func writeAttributes(mirror string) error {
	dir := filepath.Join(mirror, "info")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "attributes"), []byte(plainAttributes), 0o644)
}

// Export writes the tree of commit into dest, without any .git directory.
// dest must not exist or be an empty directory. Entries that would land
// outside dest are rejected; symlinks are recreated as they are in the
// tree, like a checkout would.
func (c *Cache) Export(ctx context.Context, url, commit, dest string) error {
	mirror, err := c.repo(url)
	if err != nil {
		return err
	}
	hash, err := resolve(ctx, mirror, commit)
	if err != nil {
		return err
	}
	if err := prepareDest(dest); err != nil {
		return fmt.Errorf("export %s: %w", hash, err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("export %s: %w", hash, err)
	}
	defer root.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := command(ctx, mirror, "archive", "--format=tar", hash)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	exErr := extract(root, stdout)
	if exErr != nil {
		cancel() // stop git; we won't read the rest
	}
	drain(stdout)
	waitErr := cmd.Wait()
	if exErr != nil {
		return fmt.Errorf("export %s: %w", hash, exErr)
	}
	if waitErr != nil {
		return wrapRunError(ctx, "archive", waitErr, stderr.Bytes())
	}
	c.log.Debug("exported", "url", url, "commit", hash, "dest", dest)
	return nil
}

// prepareDest creates dest, or checks that the existing one is empty.
func prepareDest(dest string) error {
	entries, err := os.ReadDir(dest)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dest, 0o755)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("destination %s is not empty", dest)
	}
	return nil
}

// extract unpacks a git-archive tar stream under root. os.Root refuses any
// operation that would resolve outside it, including through a symlink
// written earlier in the same stream.
func extract(root *os.Root, r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // git's pax header carrying the commit id
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return err
		}
		if name == "" {
			continue
		}
		if dir := path.Dir(name); dir != "." {
			if err := root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
				return err
			}
		}
		local := filepath.FromSlash(name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(local, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(root, local, fileMode(hdr.Mode), tr); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := root.Symlink(hdr.Linkname, local); err != nil {
				return err
			}
		default:
			// git archive emits nothing else; ignore rather than fail on
			// something harmless we don't understand.
		}
	}
}

// entryName validates an archive path and returns it cleaned, slash-separated.
func entryName(name string) (string, error) {
	n := strings.TrimSuffix(name, "/")
	if n == "" || n == "." {
		return "", nil
	}
	if path.IsAbs(n) || strings.ContainsRune(n, 0) || strings.Contains(n, `\`) ||
		slices.Contains(strings.Split(n, "/"), "..") {
		return "", fmt.Errorf("archive entry %q escapes destination", name)
	}
	return path.Clean(n), nil
}

// fileMode maps a tar mode to the only two modes git records for files.
// Setting it explicitly keeps the result independent of the daemon's umask.
func fileMode(m int64) os.FileMode {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

func writeFile(root *os.Root, name string, mode os.FileMode, r io.Reader) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Chmod(name, mode)
}
