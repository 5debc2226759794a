package dockerenv

import (
	"archive/tar"
	"bytes"
	crand "crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one entry of an image layer.
type File struct {
	Name string // path inside the image, without a leading slash
	Mode int64
	Body []byte
	// Link, when set, makes the entry a symbolic link to Link.
	Link string
}

// Image describes a test image: one layer of files and its configuration.
type Image struct {
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string
}

// Push assembles img without Docker (go-containerregistry, on an empty base:
// FROM scratch) and pushes it to ref on a loopback registry. It returns the
// pushed manifest's digest ("sha256:...").
func Push(t testing.TB, ref string, img Image) string {
	t.Helper()
	// Every pushed image has a layer of its own: test processes share one
	// engine, and Docker 20.10 can delete a layer that one test's image
	// removal frees while another test pulls an image made of the same
	// bytes, leaving that container without its files.
	var nonce [8]byte
	crand.Read(nonce[:])
	files := append(slices.Clone(img.Files), File{Name: ".slipway-test-layer", Mode: 0o644, Body: []byte(hex.EncodeToString(nonce[:]) + "\n")})
	layerTar, err := tarFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	im, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := im.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.Env = img.Entrypoint, img.Cmd, img.Env
	if im, err = mutate.ConfigFile(im, cf); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, im, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := im.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// AppImage is an image holding the test app as /app, its command.
func AppImage(t testing.TB, env ...string) Image {
	t.Helper()
	return Image{
		Files: []File{{Name: "app", Mode: 0o755, Body: readFile(t, TestApp(t))}},
		Cmd:   []string{"/app"},
		Env:   env,
	}
}

// ShellImage is AppImage plus a shell: busybox as /bin/sh (installing
// Debian's busybox-static if needed).
func ShellImage(t testing.TB, env ...string) Image {
	t.Helper()
	if err := ensureInstalled("busybox"); err != nil {
		t.Fatal(err)
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	img := AppImage(t, env...)
	img.Files = append(img.Files,
		File{Name: "bin/busybox", Mode: 0o755, Body: readFile(t, bb)},
		File{Name: "bin/sh", Link: "busybox"},
		File{Name: "bin/echo", Link: "busybox"},
		File{Name: "bin/sleep", Link: "busybox"},
	)
	img.Env = append(img.Env, "PATH=/bin:/")
	return img
}

var (
	appOnce sync.Once
	appPath string
	appErr  error
)

// TestApp returns the path of the test app (./testapp), built once per test
// process as a static binary.
func TestApp(t testing.TB) string {
	t.Helper()
	appOnce.Do(func() { appPath, appErr = buildTestApp() })
	if appErr != nil {
		t.Fatalf("build test app: %v", appErr)
	}
	return appPath
}

// buildTestApp builds the test app into the state directory, through a
// rename so that a concurrent test process never runs half a binary.
func buildTestApp() (string, error) {
	dir, err := stateDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(bin, "testapp-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("go", "build", "-o", tmp.Name(), "github.com/slipwayhq/slipway/test/dockerenv/testapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", &buildError{err: err, out: out}
	}
	path := filepath.Join(bin, "testapp")
	return path, os.Rename(tmp.Name(), path)
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

func tarFiles(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		if d := filepath.Dir(f.Name); d != "." && !dirs[d] {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755}); err != nil {
				return nil, err
			}
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: f.Mode, Size: int64(len(f.Body))}
		if f.Link != "" {
			h = &tar.Header{Typeflag: tar.TypeSymlink, Name: f.Name, Linkname: f.Link, Mode: 0o777}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if f.Link == "" {
			if _, err := tw.Write(f.Body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
