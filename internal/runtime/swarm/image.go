package swarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/runtime"
)

// buildRepo is the cluster registry's repository builds are pushed to, one
// tag per build key.
const buildRepo = "slipway-build"

// ErrNoRegistry is returned (wrapped) by Build when no cluster registry is
// configured: a build must be pushed where every node can pull it.
var ErrNoRegistry = errors.New("no cluster registry (--cluster-registry) to push builds to")

// Build builds on the manager's engine, exactly as the docker backend does
// (a Dockerfile, or a managed runtime's base image), then pushes the image
// to the cluster registry. The artifact is the pushed image by digest,
// which every node pulls when it runs a task of it.
func (b *Backend) Build(ctx context.Context, spec runtime.BuildSpec, log io.Writer) (runtime.Artifact, error) {
	if b.cfg.Registry == "" {
		return runtime.Artifact{}, fmt.Errorf("build: %w", ErrNoRegistry)
	}
	local, err := b.dock.Build(ctx, spec, log)
	if err != nil {
		return runtime.Artifact{}, err
	}
	sum := sha256.Sum256([]byte(spec.Key))
	tag := b.cfg.Registry + "/" + buildRepo + ":" + hex.EncodeToString(sum[:12])
	if _, err := b.cli.ImageTag(ctx, client.ImageTagOptions{Source: local.Path, Target: tag}); err != nil {
		return runtime.Artifact{}, fmt.Errorf("build: tag %s: %w", tag, err)
	}
	fmt.Fprintf(log, "pushing %s\n", tag)
	ref, err := b.push(ctx, tag)
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("build: push %s: %w", tag, err)
	}
	return runtime.Artifact{Backend: Name, Key: spec.Key, Path: ref, Runtime: spec.Runtime}, nil
}

// push pushes tag from the manager's engine and returns it by digest.
func (b *Backend) push(ctx context.Context, tag string) (string, error) {
	auth, err := b.dock.RegistryAuth(ctx, tag)
	if err != nil {
		return "", err
	}
	if auth == "" {
		// A push must say who pushes, if only anonymously.
		if auth, err = authconfig.Encode(registry.AuthConfig{}); err != nil {
			return "", err
		}
	}
	res, err := b.cli.ImagePush(ctx, tag, client.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return "", err
	}
	defer res.Close()
	for m, err := range res.JSONMessages(ctx) {
		if err != nil {
			return "", err
		}
		if m.Error != nil {
			return "", errors.New(m.Error.Message)
		}
	}
	img, err := b.cli.ImageInspect(ctx, tag)
	if err != nil {
		return "", err
	}
	named, err := reference.ParseNormalizedNamed(tag)
	if err != nil {
		return "", err
	}
	for _, d := range img.RepoDigests {
		if r, err := reference.ParseNormalizedNamed(d); err == nil && r.Name() == named.Name() {
			return d, nil
		}
	}
	return "", fmt.Errorf("the engine knows no digest of %s after pushing it", tag)
}

// Pull checks that the registry serves ref (as the manager's engine sees
// it) and returns it pinned to its digest. Nodes pull it themselves when a
// task of it starts there.
func (b *Backend) Pull(ctx context.Context, ref string, log io.Writer) (runtime.Artifact, error) {
	if log == nil {
		log = io.Discard
	}
	pinned, err := b.resolve(ctx, ref)
	if err != nil {
		return runtime.Artifact{}, fmt.Errorf("pull %s: %w", ref, err)
	}
	fmt.Fprintf(log, "the nodes pull %s when they start its tasks\n", pinned)
	return runtime.Artifact{Backend: Name, Key: ref, Path: pinned}, nil
}

// Resolve asks the registry for ref's manifest through the manager's
// engine, with the cluster's view of registries (its insecure ones, its
// network), and returns ref by digest.
func (b *Backend) Resolve(ctx context.Context, ref string) (string, error) {
	return b.resolve(ctx, ref)
}

func (b *Backend) resolve(ctx context.Context, ref string) (string, error) {
	auth, err := b.dock.RegistryAuth(ctx, ref)
	if err != nil {
		return "", err
	}
	d, err := b.cli.DistributionInspect(ctx, ref, client.DistributionInspectOptions{EncodedRegistryAuth: auth})
	if err != nil {
		return "", err
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	if _, ok := named.(reference.Canonical); ok {
		return ref, nil
	}
	pinned, err := reference.WithDigest(reference.TrimNamed(named), d.Descriptor.Digest)
	if err != nil {
		return "", err
	}
	return pinned.String(), nil
}

// ArtifactExists reports whether the registry still serves a's image. An
// answer other than the manifest is taken for no (Engine 20.10 reports a
// missing manifest as a server error): building again is always safe.
func (b *Backend) ArtifactExists(ctx context.Context, a runtime.Artifact) (bool, error) {
	if a.Path == "" {
		return false, nil
	}
	_, err := b.resolve(ctx, a.Path)
	if err != nil && ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		b.log.Debug("artifact not in the registry", "image", a.Path, "err", err)
	}
	return err == nil, nil
}

// RemoveArtifact removes a build's image from the manager's engine and its
// manifest from the cluster registry (registry.go). Nodes keep their
// copies until their engines prune them.
func (b *Backend) RemoveArtifact(ctx context.Context, a runtime.Artifact) error {
	if a.Path == "" {
		return errors.New("remove artifact: no image")
	}
	if a.Key == a.Path || strings.Contains(a.Key, "@sha256:") {
		return nil // a pulled image: the nodes' engines keep it
	}
	_, err := b.cli.ImageRemove(ctx, a.Path, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove artifact: %w", err)
	}
	if b.cfg.Registry != "" && strings.HasPrefix(a.Path, b.cfg.Registry+"/"+buildRepo+"@") {
		if err := b.deleteManifest(ctx, a.Path); err != nil {
			return fmt.Errorf("remove artifact: %w", err)
		}
	}
	return nil
}
