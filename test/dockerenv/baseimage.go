package dockerenv

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/runtime/baseimage"
)

// EnvRebuildBaseImages, when set to 1, makes BaseImage remove a runtime's
// base image from the engine before its first use in a test process, so
// that it is built again with the real mmdebstrap.
const EnvRebuildBaseImages = "SLIPWAY_TEST_REBUILD_BASE_IMAGES"

var baseImages sync.Map // runtime → *baseImageOnce

type baseImageOnce struct {
	once sync.Once
	img  baseimage.Image
	log  string
	took time.Duration
	err  error
}

// BaseImage makes sure the test engine has the base image of runtime rt,
// built from Debian packages with the real mmdebstrap (installing Debian's
// mmdebstrap if needed) exactly as a daemon builds it, and returns it with
// the build's log and how long it took. Its tag is content-addressed, so
// an image built by an earlier test process (the engine outlives them) is
// found, not built again; test processes take turns under a lock, so two
// of them never build the same image at once. A daemon on this engine then
// finds the image instead of building it.
func BaseImage(t testing.TB, rt string) (img baseimage.Image, log string, took time.Duration) {
	t.Helper()
	host := Docker(t)
	v, _ := baseImages.LoadOrStore(rt, &baseImageOnce{})
	o := v.(*baseImageOnce)
	o.once.Do(func() {
		start := time.Now()
		o.img, o.log, o.err = buildBaseImage(host, rt)
		o.took = time.Since(start)
	})
	if o.err != nil {
		t.Fatalf("dockerenv: base image of %s: %v\n%s", rt, o.err, o.log)
	}
	return o.img, o.log, o.took
}

func buildBaseImage(host, rt string) (baseimage.Image, string, error) {
	if err := ensureInstalled("mmdebstrap"); err != nil {
		return baseimage.Image{}, "", err
	}
	dir, err := stateDir()
	if err != nil {
		return baseimage.Image{}, "", err
	}
	// A lock of its own: a build takes a minute, which the engine's and
	// the registry's setup need not wait for.
	f, err := os.OpenFile(filepath.Join(dir, "baseimage.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return baseimage.Image{}, "", err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return baseimage.Image{}, "", err
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cli, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return baseimage.Image{}, "", err
	}
	defer cli.Close()
	b := baseimage.New(baseimage.Config{}, cli, nil)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if os.Getenv(EnvRebuildBaseImages) == "1" {
		tag, err := b.Tag(rt)
		if err != nil {
			return baseimage.Image{}, "", err
		}
		// Containers of the old image keep it alive under its ID.
		_, _ = cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{})
	}
	var log bytes.Buffer
	img, err := b.Ensure(ctx, rt, &log)
	return img, log.String(), err
}
