package baseimage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// Engine is what a Builder needs of a Docker Engine; moby's *client.Client
// has it.
type Engine interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (client.ImageInspectResult, error)
	ImageImport(ctx context.Context, src client.ImageImportSource, ref string, opts client.ImageImportOptions) (client.ImageImportResult, error)
	ImageTag(ctx context.Context, opts client.ImageTagOptions) (client.ImageTagResult, error)
	ImagePush(ctx context.Context, ref string, opts client.ImagePushOptions) (client.ImagePushResponse, error)
	ImagePull(ctx context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error)
}

// Config configures a Builder. The zero value builds with the host's
// mmdebstrap from the host's apt sources and keeps images in the engine
// alone.
type Config struct {
	// Command is mmdebstrap's command line before its arguments
	// (default: mmdebstrap on PATH).
	Command []string
	// Sources are the sources.list lines of Suite's mirrors
	// (default: Sources("/"), the host's own mirrors).
	Sources []string
	// TempDir holds a root file system's tarball while it is imported
	// (default: os.TempDir()).
	TempDir string
	// Registry, as host:port, is where an image is looked for before it
	// is built, and where a built one is pushed, as
	// Registry/slipway/runtime-<family>:<tag>, so that the other engines
	// of a cluster pull it instead of building it again. Empty: none.
	Registry string
	// Repository prefixes the local tags (default Repository); tests
	// use one of their own.
	Repository string
	// Auth returns the engine's X-Registry-Auth value for a registry
	// reference ("" for anonymous access); nil means anonymous.
	Auth func(ctx context.Context, ref string) (string, error)
}

// Image is a runtime's base image, present in the engine.
type Image struct {
	// Ref is the local tag (slipway/runtime-python:bookworm-<hash>).
	Ref string
	// ID is the engine's image ID.
	ID string
	// Remote is the image in Config.Registry, "" without one.
	Remote string
	// Built reports whether this call built it (rather than finding it
	// in the engine or the registry).
	Built bool
}

// buildTimeout bounds one mmdebstrap run and import: a slow mirror is
// worth waiting for, a hung one is not.
const buildTimeout = 20 * time.Minute

// Builder makes base images in one engine, each at most once at a time
// however many deployments ask for it, and keeps them there. Builds run
// under the Builder's lifetime, not a caller's: a deployment that stops
// waiting (cancelled, timed out) leaves the build to finish for the next.
type Builder struct {
	cfg Config
	eng Engine
	log *slog.Logger

	// ctx ends with Close; builds run under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// mu guards flights, pushed and closed.
	mu      sync.Mutex
	flights map[string]*flight // by local tag
	pushed  map[string]bool    // local tags this Builder put in (or found in) the registry
	closed  bool
}

// New returns a Builder that imports images into eng. It starts nothing:
// images are made on first use.
func New(cfg Config, eng Engine, log *slog.Logger) *Builder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Repository == "" {
		cfg.Repository = Repository
	}
	if len(cfg.Command) == 0 {
		cfg.Command = []string{"mmdebstrap"}
	}
	b := &Builder{cfg: cfg, eng: eng, log: log.With("component", "runtime/baseimage"),
		flights: map[string]*flight{}, pushed: map[string]bool{}}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b
}

// Available reports why base images cannot be built here (mmdebstrap is
// not on PATH), or nil.
func Available() error {
	if _, err := exec.LookPath("mmdebstrap"); err != nil {
		return fmt.Errorf("base images of managed runtimes are built with mmdebstrap (Debian's mmdebstrap package): %w", err)
	}
	return nil
}

// Close stops builds in progress (mmdebstrap is asked to clean up, then
// killed) and waits for them; waiting callers get an error.
func (b *Builder) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
}

// Tag returns the local tag of rt's base image, or ErrUnsupported.
func (b *Builder) Tag(rt string) (string, error) {
	r, err := RecipeFor(rt)
	if err != nil {
		return "", err
	}
	return r.tag(b.cfg.Repository), nil
}

// Ensure returns the base image of runtime rt, building it on first use.
// Progress goes to w, the caller's build log (and to every other caller
// waiting for the same image meanwhile). Runtimes without a recipe are
// ErrUnsupported.
func (b *Builder) Ensure(ctx context.Context, rt string, w io.Writer) (Image, error) {
	if w == nil {
		w = io.Discard
	}
	r, err := RecipeFor(rt)
	if err != nil {
		return Image{}, err
	}
	tag := r.tag(b.cfg.Repository)
	// The common case, without a flight: the image is here (and, with a
	// registry, was put there by this Builder).
	if img, err := b.eng.ImageInspect(ctx, tag); err == nil && b.pushedOrNoRegistry(tag) {
		return b.image(tag, img.ID, false), nil
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return Image{}, errors.New("base image: builder closed")
	}
	f, joined := b.flights[tag], true
	if f == nil {
		f, joined = &flight{done: make(chan struct{}), writers: map[int]io.Writer{}}, false
		b.flights[tag] = f
		b.wg.Add(1)
	}
	id := f.join(w)
	b.mu.Unlock()
	if joined {
		fmt.Fprintf(w, "waiting for the %s base image %s, which another deployment is making\n", rt, tag)
	} else {
		go b.fly(f, rt, r, tag)
	}
	defer f.leave(id)
	select {
	case <-f.done:
		return f.img, f.err
	case <-ctx.Done():
		return Image{}, fmt.Errorf("base image %s: %w", tag, ctx.Err())
	}
}

func (b *Builder) pushedOrNoRegistry(tag string) bool {
	if b.cfg.Registry == "" {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pushed[tag]
}

func (b *Builder) image(tag, id string, built bool) Image {
	img := Image{Ref: tag, ID: id, Built: built}
	if b.cfg.Registry != "" {
		img.Remote = b.cfg.Registry + "/" + tag
	}
	return img
}

// fly makes one image for every caller of Ensure waiting on f, then forgets
// f, so that a failure is tried again by the next caller.
func (b *Builder) fly(f *flight, rt string, r Recipe, tag string) {
	defer b.wg.Done()
	ctx, cancel := context.WithTimeout(b.ctx, buildTimeout)
	defer cancel()
	f.img, f.err = b.obtain(ctx, rt, r, tag, f)
	if f.err != nil {
		f.printf("base image %s: %v", tag, f.err)
		b.log.Warn("base image failed", "runtime", rt, "image", tag, "err", f.err)
	}
	b.mu.Lock()
	delete(b.flights, tag)
	b.mu.Unlock()
	close(f.done)
}

// obtain finds the image in the engine or the registry, or builds it, and
// puts it in the registry when there is one.
func (b *Builder) obtain(ctx context.Context, rt string, r Recipe, tag string, f *flight) (Image, error) {
	img, err := b.eng.ImageInspect(ctx, tag)
	built := false
	switch {
	case err == nil:
	case b.cfg.Registry != "" && b.pull(ctx, tag, f) == nil:
		if img, err = b.eng.ImageInspect(ctx, tag); err != nil {
			return Image{}, err
		}
		b.markPushed(tag)
	default:
		if img, err = b.build(ctx, rt, r, tag, f); err != nil {
			return Image{}, err
		}
		built = true
	}
	if b.cfg.Registry != "" && !b.isPushed(tag) {
		if err := b.push(ctx, tag, f); err != nil {
			return Image{}, err
		}
	}
	return b.image(tag, img.ID, built), nil
}

// build runs mmdebstrap into a tarball and imports it as tag.
func (b *Builder) build(ctx context.Context, rt string, r Recipe, tag string, f *flight) (client.ImageInspectResult, error) {
	var none client.ImageInspectResult
	start := time.Now()
	f.printf("building the %s base image from Debian %s packages (first use, about a minute): %s",
		rt, Suite, strings.Join(r.AllPackages(), " "))
	b.log.Info("building base image", "runtime", rt, "image", tag)
	dir, err := os.MkdirTemp(b.cfg.TempDir, "slipway-baseimage-")
	if err != nil {
		return none, err
	}
	defer os.RemoveAll(dir)
	tarball := filepath.Join(dir, "rootfs.tar")
	sources := b.cfg.Sources
	if len(sources) == 0 {
		sources = Sources("/")
	}
	args := slices.Concat(b.cfg.Command[1:], Args(r, tarball), sources)
	cmd := exec.CommandContext(ctx, b.cfg.Command[0], args...)
	// mmdebstrap unmounts what it mounted in its chroot and removes its
	// temporary directory on SIGTERM; SIGKILL only if it takes too long.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	tail := &tailWriter{max: 20}
	out := lineWriter{w: io.MultiWriter(f, tail)}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		out.flush()
		if ctx.Err() != nil {
			return none, fmt.Errorf("mmdebstrap: %w", ctx.Err())
		}
		return none, fmt.Errorf("mmdebstrap: %w; last lines:\n%s", err, tail)
	}
	out.flush()
	if err := b.importTar(ctx, r, tag, tarball); err != nil {
		return none, err
	}
	img, err := b.eng.ImageInspect(ctx, tag)
	if err != nil {
		return none, fmt.Errorf("imported image: %w", err)
	}
	took := time.Since(start).Round(time.Second)
	f.printf("built the %s base image %s (%s) in %s", rt, tag, shortID(img.ID), took)
	b.log.Info("built base image", "runtime", rt, "image", tag, "id", img.ID, "took", took)
	return img, nil
}

// Args is mmdebstrap's command line for r's root file system, written to
// tarball, before the sources: a minbase system (apt, dpkg, a shell; no
// systemd) with r's packages, no manual pages or documentation beyond
// copyright files, and package lists cleaned up.
func Args(r Recipe, tarball string) []string {
	return []string{
		"--variant=minbase",
		"--include=" + strings.Join(r.AllPackages(), ","),
		`--aptopt=Acquire::Retries "3"`,
		"--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/info/*",
		"--dpkgopt=path-exclude=/usr/share/doc/*",
		"--dpkgopt=path-include=/usr/share/doc/*/copyright",
		Suite, tarball,
	}
}

func (b *Builder) importTar(ctx context.Context, r Recipe, tag, tarball string) error {
	file, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer file.Close()
	res, err := b.eng.ImageImport(ctx, client.ImageImportSource{Source: file, SourceName: "-"}, tag, client.ImageImportOptions{
		Changes: r.Config(),
		Message: "Slipway base image of " + r.Family + ", mmdebstrap " + Suite,
	})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer res.Close()
	if err := streamError(res); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	return nil
}

func (b *Builder) pull(ctx context.Context, tag string, f *flight) error {
	remote := b.cfg.Registry + "/" + tag
	auth, err := b.auth(ctx, remote)
	if err != nil {
		return err
	}
	res, err := b.eng.ImagePull(ctx, remote, client.ImagePullOptions{RegistryAuth: auth})
	if err == nil {
		err = res.Wait(ctx)
	}
	if err != nil {
		f.printf("the base image is not in %s (%v)", b.cfg.Registry, err)
		return err
	}
	if _, err := b.eng.ImageTag(ctx, client.ImageTagOptions{Source: remote, Target: tag}); err != nil {
		return err
	}
	f.printf("pulled the base image %s", remote)
	return nil
}

func (b *Builder) push(ctx context.Context, tag string, f *flight) error {
	remote := b.cfg.Registry + "/" + tag
	if _, err := b.eng.ImageTag(ctx, client.ImageTagOptions{Source: tag, Target: remote}); err != nil {
		return fmt.Errorf("tag %s: %w", remote, err)
	}
	auth, err := b.auth(ctx, remote)
	if err != nil {
		return err
	}
	res, err := b.eng.ImagePush(ctx, remote, client.ImagePushOptions{RegistryAuth: auth})
	if err == nil {
		err = res.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("push %s: %w", remote, err)
	}
	b.markPushed(tag)
	f.printf("pushed the base image to %s", remote)
	return nil
}

// auth returns the X-Registry-Auth value for ref: Config.Auth's, or an
// empty configuration, without which Engine 20.10 refuses to push.
func (b *Builder) auth(ctx context.Context, ref string) (string, error) {
	a := ""
	if b.cfg.Auth != nil {
		var err error
		if a, err = b.cfg.Auth(ctx, ref); err != nil {
			return "", fmt.Errorf("registry credentials for %s: %w", ref, err)
		}
	}
	if a == "" {
		return authconfig.Encode(registry.AuthConfig{})
	}
	return a, nil
}

func (b *Builder) markPushed(tag string) {
	b.mu.Lock()
	b.pushed[tag] = true
	b.mu.Unlock()
}

func (b *Builder) isPushed(tag string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pushed[tag]
}

// streamError reads an engine's JSON progress stream and returns the
// error it reports, if any.
func streamError(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
	}
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// flight is one image being made, and the build logs of the callers
// waiting for it.
type flight struct {
	done chan struct{}
	// img and err are written before done is closed.
	img Image
	err error

	// mu guards writers and next.
	mu      sync.Mutex
	writers map[int]io.Writer
	next    int
}

func (f *flight) join(w io.Writer) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	f.writers[f.next] = w
	return f.next
}

// leave stops copying progress to a caller's log: its deployment may be
// over, its log closed.
func (f *flight) leave(id int) {
	f.mu.Lock()
	delete(f.writers, id)
	f.mu.Unlock()
}

// Write copies progress to every waiting caller's log; a log that fails is
// the caller's business, never the build's.
func (f *flight) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.writers {
		_, _ = w.Write(p)
	}
	return len(p), nil
}

func (f *flight) printf(format string, args ...any) {
	fmt.Fprintf(f, format+"\n", args...)
}

// lineWriter passes whole lines on, so that the output of mmdebstrap's
// stdout and stderr, and of concurrent callers, never interleaves mid-line.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if i := strings.LastIndexByte(string(l.buf), '\n'); i >= 0 {
		_, _ = l.w.Write(l.buf[:i+1])
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
	}
	return len(p), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		_, _ = l.w.Write(append(l.buf, '\n'))
		l.buf = l.buf[:0]
	}
}

// tailWriter keeps the last max lines written to it.
type tailWriter struct {
	max   int
	lines []string
}

func (t *tailWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		t.lines = append(t.lines, sc.Text())
		if len(t.lines) > t.max {
			t.lines = t.lines[1:]
		}
	}
	return len(p), nil
}

func (t *tailWriter) String() string { return strings.Join(t.lines, "\n") }
