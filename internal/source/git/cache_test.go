package git

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testRepo is a real working repository in a temp dir, playing the remote.
type testRepo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *testRepo {
	t.Helper()
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "--quiet", "--initial-branch=main")
	return r
}

// git runs git in the repo with an identity and no user config, so tests
// behave the same on a machine without ~/.gitconfig.
func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Ada Lovelace", "GIT_AUTHOR_EMAIL=ada@example.com",
		"GIT_COMMITTER_NAME=Ada Lovelace", "GIT_COMMITTER_EMAIL=ada@example.com",
		"GIT_AUTHOR_DATE=2024-05-06T07:08:09Z", "GIT_COMMITTER_DATE=2024-05-06T07:08:09Z",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *testRepo) write(name, content string, mode os.FileMode) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		r.t.Fatal(err)
	}
}

func (r *testRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "--quiet", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// history is a remote with two commits on main:
//
//	c1: README.md, app/main.py, app/run.sh (+x), app/current -> main.py,
//	    docs/guide.md, ignored.txt marked export-ignore
//	c2: app/main.py modified, docs/guide.md renamed to docs/manual.md,
//	    README.md deleted
type history struct {
	*testRepo
	c1, c2 string
}

func newHistory(t *testing.T) history {
	t.Helper()
	r := newRepo(t)
	r.write("README.md", "hello\n", 0o644)
	r.write("app/main.py", "print('v1')\n", 0o644)
	r.write("app/run.sh", "#!/bin/sh\nexec python main.py\n", 0o755)
	r.write("docs/guide.md", "a long enough guide to be detected as a rename\n", 0o644)
	r.write(".gitattributes", "ignored.txt export-ignore\n", 0o644)
	r.write("ignored.txt", "still part of the source\n", 0o644)
	if err := os.Symlink("main.py", filepath.Join(r.dir, "app", "current")); err != nil {
		t.Fatal(err)
	}
	c1 := r.commit("first")
	r.write("app/main.py", "print('v2')\n", 0o644)
	r.git("mv", "docs/guide.md", "docs/manual.md")
	r.git("rm", "--quiet", "README.md")
	c2 := r.commit("second\n\nwith a body")
	return history{testRepo: r, c1: c1, c2: c2}
}

func newCache(t *testing.T) *Cache {
	return NewCache(filepath.Join(t.TempDir(), "cache"), slog.New(slog.DiscardHandler))
}

func fetch(t *testing.T, c *Cache, url string) {
	t.Helper()
	if err := c.Fetch(context.Background(), url); err != nil {
		t.Fatalf("Fetch(%s): %v", url, err)
	}
}

func TestFetchIsIncremental(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t)
	c := newCache(t)
	fetch(t, c, h.dir)

	if got, err := c.Head(ctx, h.dir, "main"); err != nil || got != h.c2 {
		t.Fatalf("Head(main) = %q, %v; want %q", got, err, h.c2)
	}
	// A marker inside the mirror survives only if the second fetch reuses
	// the mirror rather than cloning afresh.
	marker := filepath.Join(c.mirrorDir(h.dir), "slipway-marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	h.write("app/main.py", "print('v3')\n", 0o644)
	c3 := h.commit("third")
	h.git("branch", "feature")
	fetch(t, c, h.dir)

	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("mirror was re-cloned: %v", err)
	}
	for _, b := range []string{"main", "feature"} {
		if got, err := c.Head(ctx, h.dir, b); err != nil || got != c3 {
			t.Errorf("Head(%s) = %q, %v; want %q", b, got, err, c3)
		}
	}

	// Deleted branches are pruned.
	h.git("branch", "-D", "feature")
	fetch(t, c, h.dir)
	if _, err := c.Head(ctx, h.dir, "feature"); !errors.Is(err, ErrBranchNotFound) {
		t.Errorf("Head(deleted branch) error = %v; want ErrBranchNotFound", err)
	}
}

func TestFetchForcePush(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t)
	url := "file://" + h.dir
	c := newCache(t)
	fetch(t, c, url)

	h.git("reset", "--quiet", "--hard", h.c1)
	h.write("app/other.py", "pass\n", 0o644)
	c3 := h.commit("rewritten")
	fetch(t, c, url)

	if got, err := c.Head(ctx, url, "main"); err != nil || got != c3 {
		t.Fatalf("Head after force push = %q, %v; want %q", got, err, c3)
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{h.c1, h.c2, true},
		{h.c1, c3, true},
		{h.c2, c3, false},
		{c3, h.c1, false},
		{h.c2, h.c2, true},
	}
	for _, tt := range tests {
		got, err := c.IsAncestor(ctx, url, tt.a, tt.b)
		if err != nil || got != tt.want {
			t.Errorf("IsAncestor(%.7s, %.7s) = %v, %v; want %v", tt.a, tt.b, got, err, tt.want)
		}
	}
	// The old commit is still in the mirror (until gc), and a tree diff
	// across the force push works.
	got, err := c.ChangedPaths(ctx, url, h.c2, c3)
	want := []string{"README.md", "app/main.py", "app/other.py", "docs/guide.md", "docs/manual.md"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ChangedPaths(c2, c3) = %q, %v; want %q", got, err, want)
	}
}

func TestFetchUnreachable(t *testing.T) {
	ctx := context.Background()
	c := newCache(t)
	missing := filepath.Join(t.TempDir(), "nope")
	err := c.Fetch(ctx, missing)
	if !errors.Is(err, ErrRepositoryNotFound) {
		t.Fatalf("Fetch(missing) = %v; want ErrRepositoryNotFound", err)
	}
	if !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Fetch(missing) error %q lacks git's stderr", err)
	}
	if entries, _ := os.ReadDir(c.dir); len(entries) != 0 {
		t.Errorf("failed clone left %d entries in the cache dir", len(entries))
	}
	if _, err := c.LsRemote(ctx, missing); !errors.Is(err, ErrRepositoryNotFound) {
		t.Errorf("LsRemote(missing) = %v; want ErrRepositoryNotFound", err)
	}
	if _, err := c.Head(ctx, missing, "main"); !errors.Is(err, ErrNotFetched) {
		t.Errorf("Head before Fetch = %v; want ErrNotFetched", err)
	}
	if err := c.Fetch(ctx, "--upload-pack=touch /tmp/pwned"); err == nil {
		t.Error("Fetch accepted an option as URL")
	}

	// A remote that disappears after the first clone is unreachable too.
	h := newHistory(t)
	fetch(t, c, h.dir)
	if err := os.RemoveAll(h.dir); err != nil {
		t.Fatal(err)
	}
	if err := c.Fetch(ctx, h.dir); !errors.Is(err, ErrRepositoryNotFound) {
		t.Errorf("Fetch(removed remote) = %v; want ErrRepositoryNotFound", err)
	}
}

// TestFetchRefusesRemoteHelpers checks that a RepositoryUrl cannot reach
// git's remote helpers: fd::3 would wait on a descriptor until the deploy
// timeout, ext:: would run a command.
func TestFetchRefusesRemoteHelpers(t *testing.T) {
	c := newCache(t)
	for _, url := range []string{"fd::3", "ext::sh -c touch% /tmp/slipway-ext-pwned"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.Fetch(ctx, url)
		cancel()
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("Fetch(%q) = %v; want git to refuse the transport at once", url, err)
		}
	}
	if _, err := os.Stat("/tmp/slipway-ext-pwned"); err == nil {
		os.Remove("/tmp/slipway-ext-pwned")
		t.Error("ext:: ran its command")
	}
}

func TestFetchCancelled(t *testing.T) {
	h := newHistory(t)
	c := newCache(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Fetch(ctx, h.dir)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrRepositoryNotFound) {
		t.Errorf("Fetch(cancelled) = %v; want context.Canceled only", err)
	}
}

func TestConcurrentFetch(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t)
	other := newHistory(t)
	c := newCache(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		url := h.dir
		if i%4 == 0 {
			url = other.dir
		}
		wg.Go(func() { errs <- c.Fetch(ctx, url) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Fetch: %v", err)
		}
	}
	if got, err := c.Head(ctx, h.dir, "main"); err != nil || got != h.c2 {
		t.Errorf("Head = %q, %v; want %q", got, err, h.c2)
	}
}

func TestHead(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t)
	h.git("branch", "release/v1", h.c1)
	c := newCache(t)
	fetch(t, c, h.dir)
	tests := []struct {
		branch  string
		want    string
		wantErr error
	}{
		{"main", h.c2, nil},
		{"release/v1", h.c1, nil},
		{"nope", "", ErrBranchNotFound},
		{"main~1", "", ErrBranchNotFound},
		{"release", "", ErrBranchNotFound},
	}
	for _, tt := range tests {
		got, err := c.Head(ctx, h.dir, tt.branch)
		if got != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("Head(%q) = %q, %v; want %q, %v", tt.branch, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestLsRemote(t *testing.T) {
	h := newHistory(t)
	h.git("branch", "feature", h.c1)
	h.git("tag", "v1", h.c1)
	c := newCache(t)
	got, err := c.LsRemote(context.Background(), "file://"+h.dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"main": h.c2, "feature": h.c1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LsRemote = %v; want %v", got, want)
	}
	if entries, _ := os.ReadDir(c.dir); len(entries) != 0 {
		t.Errorf("LsRemote wrote %d entries to the cache dir", len(entries))
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t)
	c := newCache(t)
	fetch(t, c, h.dir)
	dest := filepath.Join(t.TempDir(), "src")
	if err := c.Export(ctx, h.dir, h.c1, dest); err != nil {
		t.Fatalf("Export: %v", err)
	}

	files := []struct {
		name, content string
		mode          os.FileMode
	}{
		{"README.md", "hello\n", 0o644},
		{"app/main.py", "print('v1')\n", 0o644},
		{"app/run.sh", "#!/bin/sh\nexec python main.py\n", 0o755},
		{"docs/guide.md", "a long enough guide to be detected as a rename\n", 0o644},
		{"ignored.txt", "still part of the source\n", 0o644},
	}
	for _, f := range files {
		p := filepath.Join(dest, filepath.FromSlash(f.name))
		b, err := os.ReadFile(p)
		if err != nil || string(b) != f.content {
			t.Errorf("%s = %q, %v; want %q", f.name, b, err, f.content)
			continue
		}
		if fi, _ := os.Stat(p); fi.Mode().Perm() != f.mode {
			t.Errorf("%s mode = %v; want %v", f.name, fi.Mode().Perm(), f.mode)
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "app", "current")); err != nil || target != "main.py" {
		t.Errorf("app/current -> %q, %v; want symlink to main.py", target, err)
	}
	if _, err := os.Stat(filepath.Join(dest, ".git")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".git in export: %v", err)
	}

	// Exporting into a non-empty directory is refused; into an empty one works.
	if err := c.Export(ctx, h.dir, h.c2, dest); err == nil {
		t.Error("Export into non-empty dir succeeded")
	}
	empty := t.TempDir()
	if err := c.Export(ctx, h.dir, "main", empty); err != nil {
		t.Errorf("Export into empty dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(empty, "docs", "manual.md")); err != nil {
		t.Errorf("Export(main) missing renamed file: %v", err)
	}
	if err := c.Export(ctx, h.dir, strings.Repeat("0", 40), t.TempDir()); !errors.Is(err, ErrCommitNotFound) {
		t.Errorf("Export(unknown commit) = %v; want ErrCommitNotFound", err)
	}
}

func TestChangedPaths(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t)
	c := newCache(t)
	fetch(t, c, h.dir)
	tests := []struct {
		name     string
		from, to string
		want     []string
	}{
		{"everything", "", h.c1, []string{".gitattributes", "README.md", "app/current", "app/main.py", "app/run.sh", "docs/guide.md", "ignored.txt"}},
		{"modify rename delete", h.c1, h.c2, []string{"README.md", "app/main.py", "docs/guide.md", "docs/manual.md"}},
		{"backwards", h.c2, h.c1, []string{"README.md", "app/main.py", "docs/guide.md", "docs/manual.md"}},
		{"same", h.c2, h.c2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ChangedPaths(ctx, h.dir, tt.from, tt.to)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ChangedPaths = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseNameStatus(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"", nil, false},
		{"M\x00a\x00D\x00b\x00", []string{"a", "b"}, false},
		{"R087\x00old\x00new\x00A\x00x\x00", []string{"new", "old", "x"}, false},
		{"C100\x00src\x00dst\x00", []string{"dst"}, false},
		{"M\x00a\x00M\x00a\x00", []string{"a"}, false},
		{"R100\x00old\x00", nil, true},
	}
	for _, tt := range tests {
		got, err := parseNameStatus([]byte(tt.in))
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseNameStatus(%q) = %q, %v; want %q, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestHasDir(t *testing.T) {
	ctx := context.Background()
	h := newHistory(t)
	c := newCache(t)
	fetch(t, c, h.dir)
	tests := []struct {
		commit, dir string
		want        bool
		wantErr     bool
	}{
		{h.c1, "", true, false},
		{h.c1, "/", true, false},
		{h.c1, "app", true, false},
		{h.c1, "app/", true, false},
		{h.c1, "./app", true, false},
		{h.c1, "docs", true, false},
		{h.c1, "app/main.py", false, false}, // a file, not a directory
		{h.c1, "app/current", false, false}, // a symlink
		{h.c1, "missing", false, false},
		{h.c1, "app/missing", false, false},
		{h.c1, "../etc", false, true},
		{strings.Repeat("1", 40), "app", false, true},
	}
	for _, tt := range tests {
		got, err := c.HasDir(ctx, h.dir, tt.commit, tt.dir)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("HasDir(%.7s, %q) = %v, %v; want %v, err=%v", tt.commit, tt.dir, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCommit(t *testing.T) {
	h := newHistory(t)
	c := newCache(t)
	fetch(t, c, h.dir)
	got, err := c.Commit(context.Background(), h.dir, h.c2[:10])
	if err != nil {
		t.Fatal(err)
	}
	want := CommitInfo{
		Hash:    h.c2,
		Author:  "Ada Lovelace",
		Email:   "ada@example.com",
		Message: "second",
		Time:    time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
	}
	if got != want {
		t.Errorf("Commit = %+v; want %+v", got, want)
	}
	if _, err := c.Commit(context.Background(), h.dir, "-p"); err == nil {
		t.Error("Commit accepted an option as revision")
	}
}

func TestEntryName(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"a/b.txt", "a/b.txt", false},
		{"dir/", "dir", false},
		{"./x", "x", false},
		{"", "", false},
		{"../x", "", true},
		{"a/../../x", "", true},
		{"/etc/passwd", "", true},
	}
	for _, tt := range tests {
		got, err := entryName(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("entryName(%q) = %q, %v; want %q, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestReadFile(t *testing.T) {
	r := newRepo(t)
	r.write("services/api/apprunner.yaml", "version: 1.0\n", 0o644)
	commit := r.commit("add config")
	c := newCache(t)
	fetch(t, c, r.dir)
	got, err := c.ReadFile(context.Background(), r.dir, commit, "/services/api/apprunner.yaml")
	if err != nil || string(got) != "version: 1.0\n" {
		t.Fatalf("ReadFile = %q, %v; want the file", got, err)
	}
	if _, err := c.ReadFile(context.Background(), r.dir, commit, "services/web/apprunner.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile of a missing file: err = %v, want os.ErrNotExist", err)
	}
}
