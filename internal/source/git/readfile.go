package git

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// ReadFile returns the content of the file at path (slash-separated,
// relative to the repository root) in commit. A missing file is an error
// wrapping os.ErrNotExist.
func (c *Cache) ReadFile(ctx context.Context, url, commit, path string) ([]byte, error) {
	if err := checkArg("commit", commit); err != nil {
		return nil, err
	}
	mirror, err := c.repo(url)
	if err != nil {
		return nil, err
	}
	path = strings.Trim(path, "/")
	// cat-file -e first tells "no such file" apart from real failures.
	if _, err := run(ctx, mirror, "cat-file", "-e", commit+":"+path); err != nil {
		if ctx.Err() == nil && exitCode(err) != 0 {
			return nil, fmt.Errorf("%s at %s: %w", path, commit, os.ErrNotExist)
		}
		return nil, err
	}
	out, err := run(ctx, mirror, "cat-file", "blob", commit+":"+path)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, commit, err)
	}
	return out, nil
}
