package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/slipwayhq/slipway/internal/runtime"
	"github.com/slipwayhq/slipway/internal/store"
)

func TestPortHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	configured := ln.Addr().(*net.TCPAddr).Port
	free, err := runtime.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	given := net.JoinHostPort("127.0.0.1", itoa(free))
	closed, err := runtime.FreePort()
	if err != nil || closed == free {
		t.Fatal("no second free port", err)
	}
	tests := []struct {
		name string
		inst runtime.Instance
		run  store.RunPlan
		want string
	}{
		{"app on its configured port", runtime.Instance{Addr: given}, store.RunPlan{Port: configured, PortEnv: "APP_PORT"},
			"listens on its configured port " + itoa(configured) + " rather than on $APP_PORT (" + itoa(free) + ")"},
		{"default variable", runtime.Instance{Addr: given}, store.RunPlan{Port: configured}, "rather than on $PORT"},
		{"nothing on the configured port", runtime.Instance{Addr: given}, store.RunPlan{Port: closed}, ""},
		{"own namespace", runtime.Instance{Addr: given, NetNS: "/proc/1/ns/net"}, store.RunPlan{Port: configured}, ""},
		{"given the configured port", runtime.Instance{Addr: ln.Addr().String()}, store.RunPlan{Port: configured}, ""},
		{"no configured port", runtime.Instance{Addr: given}, store.RunPlan{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := portHint(context.Background(), tt.inst, tt.run)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("portHint = %q, want %q", got, tt.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestFailedAsSaysItOnce(t *testing.T) {
	backend := fmt.Errorf("%w: build command 1 (%q) exited with code 7", runtime.ErrBuildFailed, "make")
	got := failedAs(ErrBuild, backend)
	if msg := got.Error(); strings.Count(msg, "build failed") != 1 || !errors.Is(got, ErrBuild) {
		t.Errorf("failedAs = %q (Is ErrBuild: %v), want one 'build failed' and ErrBuild", msg, errors.Is(got, ErrBuild))
	}
	if got := failedAs(ErrBuild, errors.New("no space left")); !errors.Is(got, ErrBuild) || got.Error() != "build failed: no space left" {
		t.Errorf("failedAs(other) = %q", got)
	}
}
