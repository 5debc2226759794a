package docker

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"

	"github.com/slipwayhq/slipway/internal/runtime"
)

func TestCommand(t *testing.T) {
	tests := []struct {
		name       string
		pre        []string
		cmd        string
		entrypoint []string
		argv       []string
		shell      bool
	}{
		{"image's own", nil, "", nil, nil, false},
		{"blank pre-run ignored", []string{" "}, "", nil, nil, false},
		{"plain", nil, "/app -port 80", []string{}, []string{"/app", "-port", "80"}, false},
		{"extra spaces", nil, "  node   server.js ", []string{}, []string{"node", "server.js"}, false},
		{"variable", nil, "/app -v $X", []string{}, []string{"/bin/sh", "-c", "{ /app -v $X\n}"}, true},
		{"list", nil, "a && b", []string{}, []string{"/bin/sh", "-c", "{ a && b\n}"}, true},
		{"pre-run", []string{"migrate"}, "/app", []string{}, []string{"/bin/sh", "-c", "{ migrate\n} && exec /app"}, true},
		{"pre-run alone", []string{"migrate"}, "", []string{}, []string{"/bin/sh", "-c", "{ migrate\n}"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, argv, sh := command(tt.pre, tt.cmd)
			if (ep == nil) != (tt.entrypoint == nil) || !slices.Equal(ep, tt.entrypoint) || !slices.Equal(argv, tt.argv) || sh != tt.shell {
				t.Fatalf("command(%q, %q) = %q, %q, %v; want %q, %q, %v", tt.pre, tt.cmd, ep, argv, sh, tt.entrypoint, tt.argv, tt.shell)
			}
		})
	}
}

func TestTagFor(t *testing.T) {
	long := strings.Repeat("k", 200)
	tests := []struct {
		key  string
		want string // "" means: just check validity and uniqueness
	}{
		{"abc123", "abc123"},
		{"svc_1.2-x", "svc_1.2-x"},
		{"monorepo/abc", ""},
		{".hidden", ""},
		{"-dash", ""},
		{long, ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := tagFor(tt.key)
		if tt.want != "" && got != tt.want {
			t.Errorf("tagFor(%q) = %q, want %q", tt.key, got, tt.want)
		}
		if len(got) == 0 || len(got) > 128 || tagInvalid.MatchString(got) || strings.HasPrefix(got, ".") || strings.HasPrefix(got, "-") {
			t.Errorf("tagFor(%q) = %q, not a valid tag", tt.key, got)
		}
		if k, dup := seen[got]; dup {
			t.Errorf("tagFor(%q) = tagFor(%q) = %q", tt.key, k, got)
		}
		seen[got] = tt.key
	}
	// Keys that differ only in replaced characters get different tags.
	if tagFor("a/b") == tagFor("a:b") {
		t.Error("tagFor(a/b) == tagFor(a:b)")
	}
}

func TestStateOf(t *testing.T) {
	withLimit := &container.HostConfig{Resources: container.Resources{Memory: 512 << 20}}
	tests := []struct {
		name string
		c    container.InspectResponse
		want runtime.State
	}{
		{"running", container.InspectResponse{State: &container.State{Running: true}}, runtime.State{Running: true}},
		{"exit 0", container.InspectResponse{State: &container.State{Status: "exited"}}, runtime.State{Reason: "exited with code 0"}},
		{"exit 3", container.InspectResponse{State: &container.State{Status: "exited", ExitCode: 3}}, runtime.State{ExitCode: 3, Reason: "exited with code 3"}},
		{"signal", container.InspectResponse{State: &container.State{Status: "exited", ExitCode: 137}}, runtime.State{ExitCode: -1, Reason: "killed by signal 9"}},
		{"oom with limit", container.InspectResponse{HostConfig: withLimit, State: &container.State{Status: "exited", ExitCode: 137, OOMKilled: true}},
			runtime.State{ExitCode: -1, Reason: "out of memory (limit 512 MiB)", OOMKilled: true}},
		{"oom without limit", container.InspectResponse{State: &container.State{Status: "exited", ExitCode: 137, OOMKilled: true}},
			runtime.State{ExitCode: -1, Reason: "out of memory", OOMKilled: true}},
		{"start error", container.InspectResponse{State: &container.State{Status: "exited", ExitCode: 127, Error: "exec: no such file"}},
			runtime.State{ExitCode: -1, Reason: "failed to start: exec: no such file"}},
		{"created", container.InspectResponse{State: &container.State{Status: "created"}}, runtime.State{ExitCode: -1, Reason: "never started"}},
		{"no state", container.InspectResponse{}, runtime.State{ExitCode: -1, Reason: "ended (state unknown)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stateOf(tt.c); got != tt.want {
				t.Fatalf("stateOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckID(t *testing.T) {
	for id, ok := range map[string]bool{"a": true, "op12345-abcdef": true, "A_b.c-d": true, "": false, "-a": false, "a b": false, "a/b": false, strings.Repeat("a", 201): false} {
		if err := checkID(id); (err == nil) != ok {
			t.Errorf("checkID(%q) = %v, want ok %v", id, err, ok)
		}
	}
}
