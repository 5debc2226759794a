package baseimage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/runtime/baseimage"
	"github.com/slipwayhq/slipway/test/dockerenv"
)

func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

func engine(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.WithHost(dockerenv.Docker(t)), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// fakeMmdebstrap is a stand-in for mmdebstrap that counts its runs, says
// something, and writes a root file system of one file; with a file "fail"
// beside it, it fails instead.
func fakeMmdebstrap(t *testing.T) (cmd []string, runs func() int) {
	dir := t.TempDir()
	script := filepath.Join(dir, "mmdebstrap")
	os.WriteFile(script, []byte(`#!/bin/sh
echo run >> "$(dirname "$0")/runs"
for a; do case "$a" in *.tar) out=$a;; esac; done
sleep 2
echo "I: fake mmdebstrap of $*"
if [ -e "$(dirname "$0")/fail" ]; then echo "E: cannot reach the mirror" >&2; exit 1; fi
d=$(mktemp -d); echo hello > "$d/hello"; tar -C "$d" -cf "$out" .; rm -rf "$d"
`), 0o755)
	return []string{script}, func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "runs"))
		return strings.Count(string(b), "run\n")
	}
}

// testRepository is a repository prefix of the test's own, whose images
// are removed at the end.
func testRepository(t *testing.T, cli *client.Client) string {
	var r [4]byte
	rand.Read(r[:])
	repo := "slipway-test-" + hex.EncodeToString(r[:]) + "/runtime-"
	t.Cleanup(func() {
		ctx := context.Background()
		imgs, err := cli.ImageList(ctx, client.ImageListOptions{All: true})
		if err != nil {
			return
		}
		for _, img := range imgs.Items {
			for _, tag := range img.RepoTags {
				if strings.Contains(tag, repo) {
					cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true})
				}
			}
		}
	})
	return repo
}

// TestEnsure builds each image once however many deployments ask at once,
// shows every one of them the progress, lets another daemon on the engine
// find it, pushes it to a registry from which a third engine's daemon
// pulls it instead of building, and tries a failed build again.
func TestEnsure(t *testing.T) {
	cli := engine(t)
	repo := testRepository(t, cli)
	cmd, runs := fakeMmdebstrap(t)
	sources := []string{"deb http://deb.debian.org/debian bookworm main"}
	b := baseimage.New(baseimage.Config{Command: cmd, Sources: sources, Repository: repo}, cli, nil)
	defer b.Close()

	var wg sync.WaitGroup
	rts := []string{"PYTHON_3", "PYTHON_311", "PYTHON_3"}
	imgs := make([]baseimage.Image, len(rts))
	logs := make([]bytes.Buffer, len(rts))
	errs := make([]error, len(rts))
	for i, rt := range rts {
		wg.Go(func() { imgs[i], errs[i] = b.Ensure(t.Context(), rt, &logs[i]) })
	}
	wg.Wait()
	for i := range rts {
		if errs[i] != nil {
			t.Fatalf("Ensure(%s): %v\n%s", rts[i], errs[i], logs[i].String())
		}
		if imgs[i].ID == "" || imgs[i].ID != imgs[0].ID || !imgs[i].Built || !strings.HasPrefix(imgs[i].Ref, repo+"python:bookworm-") {
			t.Errorf("Ensure(%s) = %+v, want the one image built (%+v)", rts[i], imgs[i], imgs[0])
		}
		if !strings.Contains(logs[i].String(), "I: fake mmdebstrap of --variant=minbase") {
			t.Errorf("caller %d's log lacks mmdebstrap's progress:\n%s", i, logs[i].String())
		}
	}
	if n := runs(); n != 1 {
		t.Fatalf("mmdebstrap ran %d times for three concurrent deployments, want 1", n)
	}
	// Whichever of PYTHON_3 and PYTHON_311 (one image) came first builds it.
	all := logs[0].String() + logs[1].String() + logs[2].String()
	if !strings.Contains(all, "building the PYTHON_3 base image from Debian bookworm packages (first use") &&
		!strings.Contains(all, "building the PYTHON_311 base image from Debian bookworm packages (first use") {
		t.Errorf("no log says the image is being built:\n%s", all)
	}
	in, err := cli.ImageInspect(t.Context(), imgs[0].Ref)
	if err != nil {
		t.Fatal(err)
	}
	if env := strings.Join(in.Config.Env, " "); !strings.Contains(env, "PIP_BREAK_SYSTEM_PACKAGES=1") || !strings.Contains(env, "PATH=/usr/local/sbin") {
		t.Errorf("image environment = %q, want PATH and PIP_BREAK_SYSTEM_PACKAGES", env)
	}

	// Another daemon on the same engine finds the image by its tag.
	other := baseimage.New(baseimage.Config{Command: cmd, Sources: sources, Repository: repo}, cli, nil)
	defer other.Close()
	var log bytes.Buffer
	img, err := other.Ensure(t.Context(), "PYTHON_311", &log)
	if err != nil || img.ID != imgs[0].ID || img.Built || runs() != 1 {
		t.Fatalf("second daemon's Ensure = %+v, %v after %d runs; want %s found, not built", img, err, runs(), imgs[0].ID)
	}

	// With a registry: the image is pushed; an engine without it pulls it.
	reg := dockerenv.Registry(t)
	pusher := baseimage.New(baseimage.Config{Command: cmd, Sources: sources, Repository: repo, Registry: reg}, cli, nil)
	defer pusher.Close()
	log.Reset()
	img, err = pusher.Ensure(t.Context(), "PYTHON_3", &log)
	if err != nil || img.Remote != reg+"/"+img.Ref || img.Built {
		t.Fatalf("Ensure with a registry = %+v, %v; want it found and pushed as %s/%s\n%s", img, err, reg, imgs[0].Ref, log.String())
	}
	if !strings.Contains(log.String(), "pushed the base image to "+img.Remote) {
		t.Errorf("log does not say the image was pushed:\n%s", log.String())
	}
	for _, ref := range []string{img.Ref, img.Remote} {
		if _, err := cli.ImageRemove(t.Context(), ref, client.ImageRemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	puller := baseimage.New(baseimage.Config{Command: cmd, Sources: sources, Repository: repo, Registry: reg}, cli, nil)
	defer puller.Close()
	log.Reset()
	img, err = puller.Ensure(t.Context(), "PYTHON_3", &log)
	if err != nil || img.Built || runs() != 1 || img.ID != imgs[0].ID {
		t.Fatalf("Ensure on an engine without the image = %+v, %v after %d runs; want %s pulled from %s\n%s", img, err, runs(), imgs[0].ID, reg, log.String())
	}
	if !strings.Contains(log.String(), "pulled the base image "+img.Remote) {
		t.Errorf("log does not say the image was pulled:\n%s", log.String())
	}

	// A failed build fails every caller, saying why, and the next one
	// tries again.
	os.WriteFile(filepath.Join(filepath.Dir(cmd[0]), "fail"), nil, 0o644)
	before := runs()
	for range 2 {
		log.Reset()
		_, err = b.Ensure(t.Context(), "NODEJS_18", &log)
		if err == nil || !strings.Contains(err.Error(), "E: cannot reach the mirror") {
			t.Fatalf("Ensure with a failing mmdebstrap: err = %v, want mmdebstrap's last lines", err)
		}
	}
	if runs() != before+2 {
		t.Errorf("a failed build was not tried again: %d runs, want %d", runs(), before+2)
	}

	// Runtimes without a recipe are refused, naming --runtime-image.
	if _, err := b.Ensure(t.Context(), "DOTNET_6", io.Discard); err == nil || !strings.Contains(err.Error(), "--runtime-image DOTNET_6=REF") {
		t.Errorf("Ensure(DOTNET_6) err = %v, want one naming --runtime-image", err)
	}
}

// TestRealBaseImages builds (or finds, when an earlier test process built
// it on this engine) the PYTHON_3 and NODEJS_18 base images with the real
// mmdebstrap from the host's Debian mirror, and checks the toolchains in
// them work.
func TestRealBaseImages(t *testing.T) {
	cli := engine(t)
	for _, tc := range []struct{ rt, script, want string }{
		{"PYTHON_3", `python3 -c 'import ssl, sys, venv; print("python", sys.version_info[0], sys.version_info[1])'; python --version; pip --version; echo "pep668=$PIP_BREAK_SYSTEM_PACKAGES"; test -s /etc/ssl/certs/ca-certificates.crt && echo certs`,
			"python 3 11|Python 3.11|pip 23|pep668=1|certs"},
		{"NODEJS_18", `node --version; echo npm $(npm --version); node -e 'require("https"); console.log("node ok")'; test -s /etc/ssl/certs/ca-certificates.crt && echo certs`,
			"v18.|npm 9|node ok|certs"},
	} {
		t.Run(tc.rt, func(t *testing.T) {
			img, log, took := dockerenv.BaseImage(t, tc.rt)
			if img.Built {
				t.Logf("built %s (%s) in %s", img.Ref, img.ID, took.Round(time.Second))
				if !strings.Contains(log, "I: success in") {
					t.Errorf("build log lacks mmdebstrap's progress:\n%s", log)
				}
			} else {
				t.Logf("found %s (%s), built by an earlier test process", img.Ref, img.ID)
			}
			out := run(t, cli, img.Ref, tc.script)
			for _, want := range strings.Split(tc.want, "|") {
				if !strings.Contains(out, want) {
					t.Errorf("in %s, %q printed\n%s\nwant %q", img.Ref, tc.script, out, want)
				}
			}
		})
	}
}

// run runs script with /bin/sh in a container of image, without a
// network, and returns its output.
func run(t *testing.T, cli *client.Client, image, script string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: image, Cmd: []string{"/bin/sh", "-c", script}, Tty: true},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(context.Background(), c.ID, client.ContainerRemoveOptions{Force: true})
	if _, err := cli.ContainerStart(ctx, c.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	w := cli.ContainerWait(ctx, c.ID, client.ContainerWaitOptions{})
	select {
	case <-w.Result:
	case err := <-w.Error:
		t.Fatal(err)
	}
	logs, err := cli.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	out, _ := io.ReadAll(logs)
	return string(out)
}
