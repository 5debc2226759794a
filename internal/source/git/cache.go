package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

var (
	// ErrRepositoryNotFound means the URL could not be cloned, fetched or
	// listed at all: it does not exist, is unreachable or needs credentials.
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrBranchNotFound means the cached copy has no such branch.
	ErrBranchNotFound = errors.New("branch not found")
	// ErrCommitNotFound means the cached copy has no such commit.
	ErrCommitNotFound = errors.New("commit not found")
	// ErrNotFetched means a read was attempted before the first Fetch.
	ErrNotFetched = errors.New("repository not fetched yet")
)

// Cache holds one bare mirror per repository URL under a directory. It is
// safe for concurrent use; fetches of the same URL are serialized.
type Cache struct {
	dir string
	log *slog.Logger

	mu sync.Mutex
	// locks holds one single-slot semaphore per URL. A channel rather than a
	// sync.Mutex so that a caller waiting behind a slow fetch can give up
	// when its context ends.
	locks map[string]chan struct{}
}

// NewCache returns a cache storing its mirrors in dir, which is created on
// first fetch if missing.
func NewCache(dir string, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{
		dir:   dir,
		log:   log.With("component", "git"),
		locks: make(map[string]chan struct{}),
	}
}

// mirrorDir is where the bare mirror of url lives. The name is a hash so
// that any URL (with slashes, ports, credentials) maps to a safe file name.
func (c *Cache) mirrorDir(url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(c.dir, hex.EncodeToString(sum[:8])+".git")
}

// lock acquires the per-URL lock, or fails when ctx ends first.
func (c *Cache) lock(ctx context.Context, url string) (unlock func(), err error) {
	c.mu.Lock()
	l, ok := c.locks[url]
	if !ok {
		l = make(chan struct{}, 1)
		c.locks[url] = l
	}
	c.mu.Unlock()
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Fetch brings the cached copy of url up to date: a bare clone on first
// use, then an incremental fetch of all branches, pruning deleted ones and
// accepting force pushes.
func (c *Cache) Fetch(ctx context.Context, url string) error {
	if err := checkArg("url", url); err != nil {
		return err
	}
	unlock, err := c.lock(ctx, url)
	if err != nil {
		return err
	}
	defer unlock()

	mirror := c.mirrorDir(url)
	if _, err := os.Stat(filepath.Join(mirror, "HEAD")); err == nil {
		return c.fetchLocked(ctx, url, mirror)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("git fetch %s: %w", url, err)
	}
	return c.cloneLocked(ctx, url, mirror)
}

func (c *Cache) fetchLocked(ctx context.Context, url, mirror string) error {
	// The URL is passed explicitly rather than "origin" so that a relative
	// local path resolves the same way it did at clone time (our working
	// directory, not the mirror's).
	if err := writeAttributes(mirror); err != nil {
		return fmt.Errorf("git fetch %s: %w", url, err)
	}
	_, err := run(ctx, mirror, "fetch", "--prune", "--no-tags", "--quiet", "--", url, "+refs/heads/*:refs/heads/*")
	if err != nil {
		return unreachable(ctx, "git fetch", url, err)
	}
	c.log.Debug("fetched", "url", url)
	return nil
}

func (c *Cache) cloneLocked(ctx context.Context, url, mirror string) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("git clone %s: %w", url, err)
	}
	// Clone into a temporary directory and rename, so a crash or failure
	// never leaves a half-cloned mirror that later fetches would trust.
	tmp, err := os.MkdirTemp(c.dir, ".clone-*")
	if err != nil {
		return fmt.Errorf("git clone %s: %w", url, err)
	}
	defer os.RemoveAll(tmp)
	dest := filepath.Join(tmp, "repo.git")
	if _, err := run(ctx, "", "clone", "--bare", "--quiet", "--", url, dest); err != nil {
		return unreachable(ctx, "git clone", url, err)
	}
	if err := writeAttributes(dest); err != nil {
		return fmt.Errorf("git clone %s: %w", url, err)
	}
	if err := os.Rename(dest, mirror); err != nil {
		return fmt.Errorf("git clone %s: %w", url, err)
	}
	c.log.Info("cloned", "url", url, "dir", mirror)
	return nil
}

// unreachable wraps a failed clone/fetch/ls-remote as ErrRepositoryNotFound
// unless it failed because the caller gave up.
func unreachable(ctx context.Context, op, url string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: %w", op, url, ctx.Err())
	}
	return fmt.Errorf("%s %s: %w: %w", op, url, ErrRepositoryNotFound, err)
}

// repo returns the mirror directory of url, failing if it was never fetched.
func (c *Cache) repo(url string) (string, error) {
	mirror := c.mirrorDir(url)
	if _, err := os.Stat(filepath.Join(mirror, "HEAD")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%s: %w", url, ErrNotFetched)
		}
		return "", err
	}
	return mirror, nil
}
