package docker

import (
	"testing"

	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/test/dockerenv"
)

// TestArtifactExists asks about an image that is present, one pulled by a
// digest and removed since (Start pulls it again, so it still counts), and
// a built one that is gone.
func TestArtifactExists(t *testing.T) {
	label := uniqueLabel(t)
	b := newBackend(t, label)
	ref := pushApp(t, "exists", dockerenv.AppImage(t, "APP_VERSION=exists"))
	a := pull(t, b, ref)
	gone := runtime.Artifact{Backend: Name, Key: "build-key", Path: "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	check := func(what string, a runtime.Artifact, want bool) {
		t.Helper()
		if got, err := b.ArtifactExists(t.Context(), a); err != nil || got != want {
			t.Errorf("ArtifactExists(%s) = %v, %v; want %v", what, got, err, want)
		}
	}
	check("a pulled image", a, true)
	check("a built image that is gone", gone, false)
	check("no image", runtime.Artifact{Backend: Name}, false)
	if err := b.RemoveArtifact(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	check("a removed image pulled by digest", a, true)
}
