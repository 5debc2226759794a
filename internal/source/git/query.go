package git

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CommitInfo describes one commit.
type CommitInfo struct {
	Hash    string
	Author  string
	Email   string
	Message string    // subject line only
	Time    time.Time // author date, which survives rebases and cherry-picks
}

// Head returns the commit the cached copy of url has for branch. Call Fetch
// first; Head never touches the network.
func (c *Cache) Head(ctx context.Context, url, branch string) (string, error) {
	if err := checkBranch(branch); err != nil {
		return "", err
	}
	mirror, err := c.repo(url)
	if err != nil {
		return "", err
	}
	out, err := run(ctx, mirror, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 {
			return "", fmt.Errorf("%s: branch %q: %w", url, branch, ErrBranchNotFound)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// LsRemote lists the branch heads of url (branch name to commit) straight
// from the remote, without fetching objects: a cheap way to poll for pushes.
func (c *Cache) LsRemote(ctx context.Context, url string) (map[string]string, error) {
	if err := checkArg("url", url); err != nil {
		return nil, err
	}
	out, err := run(ctx, "", "ls-remote", "--heads", url)
	if err != nil {
		return nil, unreachable(ctx, "git ls-remote", url, err)
	}
	heads := make(map[string]string)
	for line := range strings.Lines(string(out)) {
		hash, ref, ok := strings.Cut(strings.TrimRight(line, "\n"), "\t")
		if !ok {
			continue
		}
		if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			heads[name] = hash
		}
	}
	return heads, nil
}

// Commit returns the metadata of commit (any revision git understands).
func (c *Cache) Commit(ctx context.Context, url, commit string) (CommitInfo, error) {
	mirror, err := c.repo(url)
	if err != nil {
		return CommitInfo{}, err
	}
	hash, err := resolve(ctx, mirror, commit)
	if err != nil {
		return CommitInfo{}, err
	}
	out, err := run(ctx, mirror, "log", "-1", "--no-show-signature", "--format=%H%x00%an%x00%ae%x00%at%x00%s", hash)
	if err != nil {
		return CommitInfo{}, err
	}
	f := strings.SplitN(strings.TrimRight(string(out), "\n"), "\x00", 5)
	if len(f) != 5 {
		return CommitInfo{}, fmt.Errorf("git log %s: unexpected output %q", hash, out)
	}
	secs, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return CommitInfo{}, fmt.Errorf("git log %s: bad author time %q: %w", hash, f[3], err)
	}
	return CommitInfo{
		Hash:    f[0],
		Author:  f[1],
		Email:   f[2],
		Time:    time.Unix(secs, 0).UTC(),
		Message: f[4],
	}, nil
}

// ChangedPaths lists, sorted and without duplicates, the file paths that
// differ between the trees of from and to. A rename counts for both its old
// and new path, so a watcher on either directory sees it. from == "" means
// every file in to. Because trees are compared directly, from need not be
// an ancestor of to (a force push works the same).
func (c *Cache) ChangedPaths(ctx context.Context, url, from, to string) ([]string, error) {
	mirror, err := c.repo(url)
	if err != nil {
		return nil, err
	}
	toHash, err := resolve(ctx, mirror, to)
	if err != nil {
		return nil, err
	}
	if from == "" {
		out, err := run(ctx, mirror, "ls-tree", "-r", "-z", "--name-only", "--full-tree", toHash)
		if err != nil {
			return nil, err
		}
		return splitNUL(out), nil
	}
	fromHash, err := resolve(ctx, mirror, from)
	if err != nil {
		return nil, err
	}
	// diff-tree is plumbing: unlike "git diff" its output ignores user
	// config such as diff.noprefix or external diff drivers.
	out, err := run(ctx, mirror, "diff-tree", "-r", "-z", "--name-status", "-M", "--no-commit-id", fromHash, toHash)
	if err != nil {
		return nil, err
	}
	paths, err := parseNameStatus(out)
	if err != nil {
		return nil, fmt.Errorf("git diff-tree %s %s: %w", fromHash, toHash, err)
	}
	return paths, nil
}

// parseNameStatus reads `--name-status -z` output: a status token followed
// by one path, or two (source, destination) for renames and copies.
func parseNameStatus(out []byte) ([]string, error) {
	tok := splitNULRaw(out)
	var paths []string
	for i := 0; i < len(tok); {
		status := tok[i]
		i++
		n := 1
		if strings.HasPrefix(status, "R") || strings.HasPrefix(status, "C") {
			n = 2
		}
		if i+n > len(tok) {
			return nil, fmt.Errorf("truncated entry for status %q", status)
		}
		switch status[0] {
		case 'C':
			// A copy leaves its source untouched.
			paths = append(paths, tok[i+1])
		default:
			paths = append(paths, tok[i:i+n]...)
		}
		i += n
	}
	slices.Sort(paths)
	return slices.Compact(paths), nil
}

// IsAncestor reports whether commit a is an ancestor of (or equal to) b.
func (c *Cache) IsAncestor(ctx context.Context, url, a, b string) (bool, error) {
	mirror, err := c.repo(url)
	if err != nil {
		return false, err
	}
	ha, err := resolve(ctx, mirror, a)
	if err != nil {
		return false, err
	}
	hb, err := resolve(ctx, mirror, b)
	if err != nil {
		return false, err
	}
	_, err = run(ctx, mirror, "merge-base", "--is-ancestor", ha, hb)
	if err == nil {
		return true, nil
	}
	if exitCode(err) == 1 {
		return false, nil
	}
	return false, err
}

// HasDir reports whether dir (slash-separated, relative to the repository
// root, "" for the root) is a directory in the tree of commit.
func (c *Cache) HasDir(ctx context.Context, url, commit, dir string) (bool, error) {
	mirror, err := c.repo(url)
	if err != nil {
		return false, err
	}
	hash, err := resolve(ctx, mirror, commit)
	if err != nil {
		return false, err
	}
	clean, err := cleanDir(dir)
	if err != nil {
		return false, err
	}
	if clean == "" {
		return true, nil
	}
	out, err := run(ctx, mirror, "cat-file", "-t", hash+":"+clean)
	if err != nil {
		if exitCode(err) == 128 {
			return false, nil // no such path in the tree
		}
		return false, err
	}
	return strings.TrimSpace(string(out)) == "tree", nil
}

// cleanDir normalizes a repository-relative directory; "" is the root.
func cleanDir(dir string) (string, error) {
	d := strings.Trim(dir, "/")
	if slices.Contains(strings.Split(d, "/"), "..") || strings.ContainsRune(d, 0) {
		return "", fmt.Errorf("invalid directory %q", dir)
	}
	if d = path.Clean(d); d == "." {
		return "", nil
	}
	return d, nil
}

// resolve turns a revision into a full commit hash.
func resolve(ctx context.Context, mirror, rev string) (string, error) {
	if err := checkArg("commit", rev); err != nil {
		return "", err
	}
	out, err := run(ctx, mirror, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		if exitCode(err) == 1 {
			return "", fmt.Errorf("%q: %w", rev, ErrCommitNotFound)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// checkBranch rejects names that rev-parse would read as revision syntax
// rather than a branch name.
func checkBranch(b string) error {
	if err := checkArg("branch", b); err != nil {
		return err
	}
	if strings.ContainsAny(b, " ~^:?*[\\") || strings.Contains(b, "..") || strings.Contains(b, "@{") {
		return fmt.Errorf("invalid branch %q: %w", b, ErrBranchNotFound)
	}
	return nil
}

func splitNUL(b []byte) []string {
	s := splitNULRaw(b)
	slices.Sort(s)
	return slices.Compact(s)
}

func splitNULRaw(b []byte) []string {
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}
