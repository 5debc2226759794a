package docker

import (
	"path/filepath"
	"testing"

	"github.com/moby/moby/client"

	"github.com/slipwayhq/slipway/internal/netns"
	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/test/dockerenv"
)

// TestNamespaceKeepsRootFileSystems starts containers in namespaces of
// their own, each with its slirp4netns, and checks that the engine still
// sees their files. slirp4netns's sandbox, made from the daemon's mount
// namespace, used to detach the engine's overlay mounts on the host (its
// data root is rshared), so that a container created at that moment ran
// without its files ("stat /app: no such file or directory").
func TestNamespaceKeepsRootFileSystems(t *testing.T) {
	if err := netns.Available(""); err != nil {
		t.Fatalf("network namespaces unavailable (tests need root and slirp4netns): %v", err)
	}
	label := uniqueLabel(t)
	cleanup(t, label)
	cfg := testConfig(t, label)
	cfg.Network = &netns.Config{}
	b, err := New(cfg, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	a := pull(t, b, pushApp(t, "netns", dockerenv.AppImage(t)))

	hasApp := func(what string, inst runtime.Instance) {
		t.Helper()
		if _, err := b.Client().ContainerStatPath(t.Context(), inst.Ref, client.ContainerStatPathOptions{Path: "/app"}); err != nil {
			t.Fatalf("%s: the engine no longer sees the container's /app: %v", what, err)
		}
	}
	first := start(t, b, runtime.InstanceSpec{ID: "first", Artifact: a, Port: 8080, LogPath: filepath.Join(t.TempDir(), "first.log")})
	if first.NetNS == "" {
		t.Fatalf("Start = %+v, want a namespace of its own", first)
	}
	hasApp("after its own slirp4netns started", first)
	second := start(t, b, runtime.InstanceSpec{ID: "second", Artifact: a, Port: 8080, LogPath: filepath.Join(t.TempDir(), "second.log")})
	hasApp("after the second container's slirp4netns started", first)
	hasApp("after its own slirp4netns started", second)
}
