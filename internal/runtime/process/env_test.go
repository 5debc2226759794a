package process

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/runtime"
)

func TestBuildEnv(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin", "HOME=/home/op", "GOPROXY=https://proxy.example", "GOMODCACHE=/cache/mod",
		"HTTPS_PROXY=http://proxy:3128", "no_proxy=localhost", "SSL_CERT_FILE=/etc/ca.pem", "NPM_CONFIG_REGISTRY=https://npm.example",
		"AWS_ACCESS_KEY_ID=AKIA", "AWS_SECRET_ACCESS_KEY=s3cr3t", "AWS_SESSION_TOKEN=tok", "AWS_ENDPOINT_URL_APPRUNNER=http://127.0.0.1:8600",
		"SLIPWAY_DATA_DIR=/var/lib/slipway", "DOCKER_HOST=unix:///run/docker.sock", "NPM_CONFIG__AUTH=token", "GITHUB_TOKEN=ghp",
		"not-a-variable",
	}
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{
			name: "toolchain settings only",
			want: []string{"PATH=/usr/bin", "HOME=/home/op", "GOPROXY=https://proxy.example", "GOMODCACHE=/cache/mod",
				"HTTPS_PROXY=http://proxy:3128", "no_proxy=localhost", "SSL_CERT_FILE=/etc/ca.pem", "NPM_CONFIG_REGISTRY=https://npm.example"},
		},
		{
			name: "the configuration's variables come last, so they win, AWS_ ones included",
			vars: map[string]string{"GOPROXY": "off", "AWS_REGION": "eu-west-1"},
			want: []string{"PATH=/usr/bin", "HOME=/home/op", "GOPROXY=https://proxy.example", "GOMODCACHE=/cache/mod",
				"HTTPS_PROXY=http://proxy:3128", "no_proxy=localhost", "SSL_CERT_FILE=/etc/ca.pem", "NPM_CONFIG_REGISTRY=https://npm.example",
				"AWS_REGION=eu-west-1", "GOPROXY=off"},
		},
	}
	for _, tt := range tests {
		if got := buildEnv(environ, tt.vars); !slices.Equal(got, tt.want) {
			t.Errorf("%s:\nbuildEnv = %q\nwant       %q", tt.name, got, tt.want)
		}
	}
}

// TestInheritedListsKeepOutCredentials guards the lists themselves: a name
// added to them later must not let the daemon's credentials through.
func TestInheritedListsKeepOutCredentials(t *testing.T) {
	for _, name := range slices.Concat(hostEnvVars, buildEnvVars) {
		for _, p := range neverInherited {
			if strings.HasPrefix(name, p) {
				t.Errorf("%s is listed as inherited but starts with %s", name, p)
			}
		}
	}
	for _, name := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SLIPWAY_DATA_DIR"} {
		if inheritable(name, []string{name}) {
			t.Errorf("inheritable(%s) = true even when listed, want false", name)
		}
	}
}

// TestBuildGetsNoDaemonCredentials runs a real build command: the daemon's
// AWS keys must not reach it (and so its log), what toolchains need must.
func TestBuildGetsNoDaemonCredentials(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIADAEMON")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "daemon-secret-key")
	t.Setenv("AWS_SESSION_TOKEN", "daemon-session-token")
	t.Setenv("SLIPWAY_TEST_SETTING", "daemon-setting")
	t.Setenv("GOPROXY", "https://goproxy.example")
	b := newBackend(t, t.TempDir())
	var log bytes.Buffer
	spec := runtime.BuildSpec{Key: "k", SourceDir: t.TempDir(), Commands: []string{"env"}, Env: map[string]string{"BUILD_FLAG": "on"}}
	if _, err := b.Build(t.Context(), spec, &log); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, leak := range []string{"AKIADAEMON", "daemon-secret-key", "daemon-session-token", "daemon-setting"} {
		if strings.Contains(out, leak) {
			t.Errorf("the build's environment shows the daemon's %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"GOPROXY=https://goproxy.example", "BUILD_FLAG=on", "PATH="} {
		if !strings.Contains(out, want) {
			t.Errorf("the build's environment lacks %s:\n%s", want, out)
		}
	}
}

func TestArtifactExists(t *testing.T) {
	b := newBackend(t, t.TempDir())
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	tests := []struct {
		path string
		want bool
	}{
		{dir, true},
		{filepath.Join(dir, "gone"), false},
		{file, false},
		{"", false},
	}
	for _, tt := range tests {
		got, err := b.ArtifactExists(t.Context(), runtime.Artifact{Key: "k", Path: tt.path})
		if err != nil || got != tt.want {
			t.Errorf("ArtifactExists(%q) = %v, %v; want %v", tt.path, got, err, tt.want)
		}
	}
}

func TestOpenLogIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "i.log")
	f, err := openLog(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("instance log mode = %v, want 0600", got)
	}
}
