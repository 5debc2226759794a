package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/runtime/baseimage"
)

// Dockerfile is the file whose presence in the source directory makes a
// Dockerfile build.
const Dockerfile = "Dockerfile"

// generatedDockerfile is the name, inside the build context, of the
// Dockerfile written for managed-runtime builds.
const generatedDockerfile = ".slipway.Dockerfile"

// appDir is where managed-runtime builds put the source tree in the image.
const appDir = "/app"

// Build builds an image from spec.SourceDir/spec.WorkDir: with its
// Dockerfile when it has one, else by running spec.Commands on the base
// image of spec.Runtime (Config.RuntimeImages, else Slipway's own, made
// from Debian packages on first use). The image is tagged
// ImageRepo:<key>, and a second Build with the same key returns it without
// building. Build steps share the host's network.
func (b *Backend) Build(ctx context.Context, spec runtime.BuildSpec, log io.Writer) (runtime.Artifact, error) {
	if spec.SourceDir == "" || spec.Key == "" {
		return runtime.Artifact{}, errors.New("build: spec needs a source directory and a key")
	}
	tag := b.cfg.ImageRepo + ":" + tagFor(spec.Key)
	art := runtime.Artifact{Backend: Name, Key: spec.Key, Runtime: spec.Runtime}
	if img, err := b.cli.ImageInspect(ctx, tag); err == nil {
		art.Path = img.ID
		return art, nil
	}
	dir, err := runtime.WorkDir(spec.SourceDir, spec.WorkDir)
	if err != nil {
		return runtime.Artifact{}, err
	}
	dockerfile, generated := Dockerfile, ""
	if _, err := os.Stat(filepath.Join(dir, Dockerfile)); err != nil {
		base, err := b.runtimeImage(ctx, spec.Runtime, log)
		if err != nil {
			return runtime.Artifact{}, err
		}
		dockerfile, generated = generatedDockerfile, runtimeDockerfile(base, spec)
	}
	buildCtx, err := tarContext(dir, generated)
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("build: %w", err)
	}
	args := map[string]*string{}
	for k, v := range spec.Env {
		args[k] = &v
	}
	res, err := b.cli.ImageBuild(ctx, buildCtx, client.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  dockerfile,
		BuildArgs:   args,
		Labels:      map[string]string{LabelManaged: "true", LabelBuildKey: spec.Key},
		Remove:      true,
		ForceRemove: true,
		NetworkMode: "host",
		Version:     build.BuilderV1,
	})
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("build: %w", err)
	}
	defer res.Body.Close()
	if err := render(res.Body, log); err != nil {
		if ctx.Err() != nil {
			return runtime.Artifact{}, fmt.Errorf("build: %w", ctx.Err())
		}
		return runtime.Artifact{}, fmt.Errorf("%w: %w", runtime.ErrBuildFailed, err)
	}
	img, err := b.cli.ImageInspect(ctx, tag)
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("build: %w", err)
	}
	art.Path = img.ID
	b.log.Debug("built", "key", spec.Key, "image", img.ID, "dockerfile", generated == "")
	return art, nil
}

// runtimeImage returns the base image runtime rt builds on: the user's
// (Config.RuntimeImages), else Slipway's own, made from Debian packages
// on first use.
func (b *Backend) runtimeImage(ctx context.Context, rt string, log io.Writer) (string, error) {
	if rt == "" {
		return "", fmt.Errorf("%w: the source directory has no %s and no runtime is configured", runtime.ErrToolchainMissing, Dockerfile)
	}
	if ref, ok := b.cfg.RuntimeImages[rt]; ok {
		return ref, nil
	}
	img, err := b.base.Ensure(ctx, rt, log)
	switch {
	case errors.Is(err, baseimage.ErrUnsupported):
		return "", fmt.Errorf("%w: the source directory has no %s and %w", runtime.ErrToolchainMissing, Dockerfile, err)
	case err != nil:
		return "", fmt.Errorf("base image of %s: %w", rt, err)
	}
	if !img.Built {
		fmt.Fprintf(log, "building on the %s base image %s (%s), made from Debian packages\n", rt, img.Ref, shortImageID(img.ID))
	}
	// The tag is content-addressed; the legacy builder finds it in the
	// engine and does not pull.
	return img.Ref, nil
}

func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	return id[:min(12, len(id))]
}

// ToolchainMismatch warns when a runtime builds on Slipway's Debian base
// image and Debian's version of the language is not the one the runtime
// (or apprunner.yaml's runtime-version) asks for. Images named with
// --runtime-image, and Dockerfiles, are the user's choice: no warning.
func (b *Backend) ToolchainMismatch(_ context.Context, spec runtime.BuildSpec) string {
	if _, ok := b.cfg.RuntimeImages[spec.Runtime]; ok || spec.Runtime == "" {
		return ""
	}
	if dir, err := runtime.WorkDir(spec.SourceDir, spec.WorkDir); err == nil {
		if _, err := os.Stat(filepath.Join(dir, Dockerfile)); err == nil {
			return ""
		}
	}
	r, err := baseimage.RecipeFor(spec.Runtime)
	if err != nil {
		return "" // Build says why it cannot build.
	}
	return r.Mismatch(spec.Runtime, spec.RuntimeVersion)
}

var _ runtime.ToolchainChecker = (*Backend)(nil)

// runtimeDockerfile builds a managed runtime's source on its base image:
// the tree in /app, the commands run in the source directory, with the
// build environment as build arguments.
func runtimeDockerfile(base string, spec runtime.BuildSpec) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "FROM %s\n", base)
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&sb, "ARG %s\n", k)
	}
	fmt.Fprintf(&sb, "COPY . %s\nWORKDIR %s\n", appDir, appDir)
	for _, c := range spec.Commands {
		if strings.TrimSpace(c) == "" {
			continue
		}
		// JSON form, so that multi-line commands stay one RUN.
		var js bytes.Buffer
		enc := json.NewEncoder(&js)
		enc.SetEscapeHTML(false)
		_ = enc.Encode([]string{"/bin/sh", "-c", c})
		fmt.Fprintf(&sb, "RUN %s", js.String())
	}
	return sb.String()
}

var tagInvalid = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// tagFor turns a build key into an image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func tagFor(key string) string {
	t := tagInvalid.ReplaceAllString(key, "_")
	if len(t) > 128 || t != key || strings.HasPrefix(t, ".") || strings.HasPrefix(t, "-") {
		sum := sha256.Sum256([]byte(key))
		h := hex.EncodeToString(sum[:8])
		t = strings.TrimLeft(t, ".-")
		if len(t) > 100 {
			t = t[:100]
		}
		t = strings.TrimSuffix(t+"-"+h, "-")
		if t[0] == '-' {
			t = t[1:]
		}
	}
	return t
}

// tarContext packs dir (without .git) as a build context, adding the
// generated Dockerfile when there is one.
func tarContext(dir, generated string) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, devices: not part of a source tree
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		// Stable across checkouts, so the engine's build cache holds.
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	if generated != "" {
		if err := tw.WriteHeader(&tar.Header{Name: generatedDockerfile, Mode: 0o644, Size: int64(len(generated)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, generated); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// render writes a build or pull progress stream to log as text and returns
// the error it reports. Pull progress bars are left out; their outcomes
// ("Pull complete") are kept.
func render(r io.Reader, log io.Writer) error {
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != nil {
			fmt.Fprintln(log, m.Error.Message)
			return errors.New(m.Error.Message)
		}
		switch {
		case m.Stream != "":
			io.WriteString(log, m.Stream)
		case m.Status != "" && m.Progress != nil && m.Progress.Total > 0:
			// A progress bar update.
		case m.Status != "" && m.ID != "":
			fmt.Fprintf(log, "%s: %s\n", m.ID, m.Status)
		case m.Status != "":
			fmt.Fprintln(log, m.Status)
		}
	}
}

// Pull makes the image ref names available to the engine, pulling it
// unless ref is pinned to a digest (or is an image ID) that is already
// present. The artifact's Path is the image ID and its Key is ref, from
// which Start pulls again if the image was removed meanwhile.
func (b *Backend) Pull(ctx context.Context, ref string, log io.Writer) (runtime.Artifact, error) {
	if log == nil {
		log = io.Discard
	}
	art := runtime.Artifact{Backend: Name, Key: ref}
	if pinned(ref) {
		if img, err := b.cli.ImageInspect(ctx, ref); err == nil {
			art.Path = img.ID
			return art, nil
		}
	}
	auth, err := b.registryAuth(ctx, ref)
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	fmt.Fprintf(log, "pulling %s\n", ref)
	res, err := b.cli.ImagePull(ctx, ref, client.ImagePullOptions{RegistryAuth: auth})
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	err = render(res, log)
	res.Close()
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	img, err := b.cli.ImageInspect(ctx, ref)
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	art.Path = img.ID
	return art, nil
}

// pinned reports whether ref names one image for good: a digest or an ID.
func pinned(ref string) bool {
	return strings.HasPrefix(ref, "sha256:") || strings.Contains(ref, "@sha256:")
}

// ensureImage makes sure a's image is present before a container is
// created from it, pulling it again by a.Key when a pulled image was
// removed (resume must not need the tag to still point at it).
func (b *Backend) ensureImage(ctx context.Context, a runtime.Artifact) error {
	_, err := b.cli.ImageInspect(ctx, a.Path)
	if err == nil || !cerrdefs.IsNotFound(err) {
		return err
	}
	if !pinned(a.Key) || strings.HasPrefix(a.Key, "sha256:") {
		return fmt.Errorf("image %s: %w", a.Path, err)
	}
	pulled, perr := b.Pull(ctx, a.Key, io.Discard)
	if perr != nil {
		return fmt.Errorf("image %s is gone and pulling it again failed: %w", a.Path, perr)
	}
	if pulled.Path != a.Path {
		return fmt.Errorf("image %s is gone and %s now names image %s", a.Path, a.Key, pulled.Path)
	}
	return nil
}

// ArtifactExists reports whether a's image is present, or can be pulled
// again by the digest it was pulled by, as Start does: a resume must not
// need the tag to still point at the image.
func (b *Backend) ArtifactExists(ctx context.Context, a runtime.Artifact) (bool, error) {
	if a.Path == "" {
		return false, nil
	}
	_, err := b.cli.ImageInspect(ctx, a.Path)
	switch {
	case err == nil:
		return true, nil
	case !cerrdefs.IsNotFound(err):
		return false, fmt.Errorf("image %s: %w", a.Path, err)
	}
	return pinned(a.Key) && !strings.HasPrefix(a.Key, "sha256:"), nil
}

var _ runtime.ArtifactChecker = (*Backend)(nil)

// registryAuth returns the engine's X-Registry-Auth value for ref's
// registry from the keychain, or "" for anonymous access.
func (b *Backend) registryAuth(ctx context.Context, ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	host := reference.Domain(named)
	res, err := name.NewRegistry(host)
	if err != nil {
		return "", err
	}
	kc := b.cfg.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	authr, err := authn.Resolve(ctx, kc, res)
	if err != nil {
		return "", fmt.Errorf("registry credentials: %w", err)
	}
	if authr == authn.Anonymous {
		return "", nil
	}
	c, err := authn.Authorization(ctx, authr)
	if err != nil {
		return "", fmt.Errorf("registry credentials: %w", err)
	}
	return authconfig.Encode(registry.AuthConfig{
		Username:      c.Username,
		Password:      c.Password,
		Auth:          c.Auth,
		IdentityToken: c.IdentityToken,
		RegistryToken: c.RegistryToken,
		ServerAddress: host,
	})
}

// RemoveArtifact removes the artifact's image. An image that is gone is not
// an error; one still used by a container is.
func (b *Backend) RemoveArtifact(ctx context.Context, a runtime.Artifact) error {
	if a.Path == "" {
		return errors.New("remove artifact: no image")
	}
	_, err := b.cli.ImageRemove(ctx, a.Path, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove artifact: %w", err)
	}
	return nil
}
