package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func TestIsGRPC(t *testing.T) {
	for _, tc := range []struct {
		contentType string
		want        bool
	}{
		{"application/grpc", true},
		{"application/grpc+proto", true},
		{"application/grpc+json", true},
		{"application/grpc; charset=utf-8", true},
		{"Application/GRPC", true},
		{"application/grpc-web", false},
		{"application/grpc-web+proto", false},
		{"application/grpc-web-text", false},
		{"application/json", false},
		{"application/grp", false},
		{"", false},
	} {
		if got := isGRPC(tc.contentType); got != tc.want {
			t.Errorf("isGRPC(%q) = %v, want %v", tc.contentType, got, tc.want)
		}
	}
}

// protoBackend answers with the protocol the request reached it over. It
// speaks HTTP/1.1 and h2c by prior knowledge, so the router's choice shows.
func protoBackend(t *testing.T) Backend {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "%s %s", req.Proto, req.URL.Path)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return Backend{ID: "proto", Addr: srv.Listener.Addr().String()}
}

// h2cClient speaks only HTTP/2 cleartext, by prior knowledge.
func h2cClient(t *testing.T) *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestH2CPriorKnowledge: a client speaking HTTP/2 by prior knowledge is
// answered over HTTP/2, and the backend gets HTTP/2 for gRPC only.
func TestH2CPriorKnowledge(t *testing.T) {
	r, front := newFront(t, Config{})
	r.SetRoute(Route{Host: "h2.localhost", Backends: []Backend{protoBackend(t)}})
	client := h2cClient(t)

	for _, tc := range []struct {
		contentType string
		wantBackend string
	}{
		{"", "HTTP/1.1"},
		{"text/plain", "HTTP/1.1"},
		{"application/grpc-web+proto", "HTTP/1.1"},
		{"application/grpc", "HTTP/2.0"},
		{"application/grpc+proto", "HTTP/2.0"},
	} {
		req, err := http.NewRequest(http.MethodPost, front.URL+"/p", strings.NewReader("body"))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "h2.localhost"
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%q: %v", tc.contentType, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("%q: client got %s, want HTTP/2.0", tc.contentType, resp.Proto)
		}
		if got, want := string(b), tc.wantBackend+" /p"; resp.StatusCode != 200 || got != want {
			t.Errorf("Content-Type %q: %d %q, want 200 %q", tc.contentType, resp.StatusCode, got, want)
		}
	}
}

// TestH2CUpgrade: an HTTP/1.1 request asking to upgrade to h2c is answered
// 101, then over HTTP/2 as stream 1, and the connection carries more
// HTTP/2 requests. A request with a body is answered over HTTP/1.1.
func TestH2CUpgrade(t *testing.T) {
	r, front := newFront(t, Config{})
	r.SetRoute(Route{Host: "up.localhost", Backends: []Backend{protoBackend(t)}})

	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// An empty SETTINGS payload: the client keeps the defaults.
	fmt.Fprint(conn, "GET /first HTTP/1.1\r\nHost: up.localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
		"Upgrade: h2c\r\nHTTP2-Settings: \r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != "h2c" {
		t.Fatalf("upgrade answered %s (Upgrade %q), want 101 h2c", resp.Status, resp.Header.Get("Upgrade"))
	}

	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, br)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "up.localhost"}, {":path", "/second"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}

	status := map[uint32]string{}
	body := map[uint32]string{}
	for done := 0; done < 2; {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading HTTP/2 frames: %v (so far: %v %v)", err, status, body)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			status[f.StreamID] = f.PseudoValue("status")
			if f.StreamEnded() {
				done++
			}
		case *http2.DataFrame:
			body[f.StreamID] += string(f.Data())
			if f.StreamEnded() {
				done++
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v", f.ErrCode)
		}
	}
	for id, want := range map[uint32]string{1: "HTTP/1.1 /first", 3: "HTTP/1.1 /second"} {
		if status[id] != "200" || body[id] != want {
			t.Errorf("stream %d: %s %q, want 200 %q", id, status[id], body[id], want)
		}
	}

	// With a body, the router ignores the upgrade rather than reading the
	// body first.
	req, err := http.NewRequest(http.MethodPost, front.URL+"/post", strings.NewReader("data"))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "up.localhost"
	req.Header.Set("Connection", "Upgrade, HTTP2-Settings")
	req.Header.Set("Upgrade", "h2c")
	req.Header.Set("HTTP2-Settings", "")
	resp, err = front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 || string(b) != "HTTP/1.1 /post" {
		t.Errorf("upgrade with a body: %s %s %q, want 200 over HTTP/1.1", resp.Proto, resp.Status, b)
	}
}
