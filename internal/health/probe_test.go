package health

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestProbeTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := Default()
	if err := Probe(context.Background(), Target{Addr: ln.Addr().String()}, c); err != nil {
		t.Errorf("Probe of a listening port = %v, want nil", err)
	}
	if err := Probe(context.Background(), Target{Addr: deadAddr(t)}, c); err == nil {
		t.Error("Probe of a closed port = nil, want an error")
	}
}

func TestProbeHTTP(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var gotHost string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			gotHost = r.Host
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/error":
			w.WriteHeader(http.StatusInternalServerError)
		case "/missing":
			http.NotFound(w, r)
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/elsewhere":
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	tests := []struct {
		path    string
		wantErr string // "" for success
	}{
		{"/ok", ""},
		{"ok", ""},
		{"/redirect", ""},
		{"/error", "status 500"},
		{"/missing", "status 404"},
		{"/slow", "deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			c := Check{Protocol: "HTTP", Path: tt.path, Timeout: 100 * time.Millisecond}
			start := time.Now()
			err := Probe(context.Background(), Target{Addr: addr}, c)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Probe = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Probe = %v, want an error containing %q", err, tt.wantErr)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Probe took %v, want it bounded by the 100ms timeout", d)
			}
		})
	}
	if gotHost != addr {
		t.Errorf("Host header = %q, want %q", gotHost, addr)
	}
	if err := Probe(context.Background(), Target{Addr: deadAddr(t)}, Check{Protocol: "HTTP"}); err == nil {
		t.Error("HTTP Probe of a closed port = nil, want an error")
	}
	if err := Probe(context.Background(), Target{Addr: addr}, Check{Protocol: "UDP"}); err == nil {
		t.Error("Probe with protocol UDP = nil, want an error")
	}
}
