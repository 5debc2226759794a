package router

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// writeFrame writes one final text frame, masked when mask is non-nil (as a
// client must).
func writeFrame(w io.Writer, payload []byte, mask []byte) error {
	if len(payload) > 125 {
		return fmt.Errorf("payload too long for the test framer")
	}
	hdr := []byte{0x81, byte(len(payload))}
	body := append([]byte(nil), payload...)
	if mask != nil {
		hdr[1] |= 0x80
		hdr = append(hdr, mask...)
		for i := range body {
			body[i] ^= mask[i%4]
		}
	}
	_, err := w.Write(append(hdr, body...))
	return err
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(hdr[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	} else if n == 127 {
		return nil, fmt.Errorf("frame too long for the test framer")
	}
	var mask []byte
	if hdr[1]&0x80 != 0 {
		mask = make([]byte, 4)
		if _, err := io.ReadFull(r, mask); err != nil {
			return nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, err
	}
	if mask != nil {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return payload, nil
}

// echoWS is a one-message WebSocket echo server: it answers the handshake
// and echoes frames until the client closes.
func echoWS(t *testing.T) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want websocket", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			wsAccept(req.Header.Get("Sec-WebSocket-Key")))
		if err := brw.Flush(); err != nil {
			return
		}
		for {
			msg, err := readFrame(brw.Reader)
			if err != nil {
				return
			}
			if err := writeFrame(conn, msg, nil); err != nil {
				return
			}
		}
	}))
}

func TestWebSocketEcho(t *testing.T) {
	r, front := newFront(t, Config{})
	be := echoWS(t)
	defer be.Close()
	r.SetRoute(Route{Host: "ws.localhost", Backends: []Backend{{ID: "ws", Addr: be.Listener.Addr().String()}}})

	conn, br, resp, key := wsHandshake(t, front, "ws.localhost:8080")
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), wsAccept(key); got != want {
		t.Errorf("Sec-WebSocket-Accept = %q, want %q", got, want)
	}

	for _, msg := range []string{"hello", "again"} {
		if err := writeFrame(conn, []byte(msg), []byte{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
		got, err := readFrame(br)
		if err != nil {
			t.Fatalf("reading echo: %v", err)
		}
		if string(got) != msg {
			t.Errorf("echo = %q, want %q", got, msg)
		}
	}
	if n := r.InFlight("ws"); n != 1 {
		t.Errorf("InFlight with an open WebSocket = %d, want 1", n)
	}
	conn.Close()
	waitFor(t, func() bool { return r.InFlight("ws") == 0 })
}

// wsHandshake opens a WebSocket to host through front, checks the 101, and
// returns the connection, its reader and the handshake response.
func wsHandshake(t *testing.T, front *front, host string) (net.Conn, *bufio.Reader, *http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return wsHandshakeOn(t, conn, host)
}

// wsHandshakeOn is wsHandshake on a connection already open.
func wsHandshakeOn(t *testing.T, conn net.Conn, host string) (net.Conn, *bufio.Reader, *http.Response, string) {
	t.Helper()
	t.Cleanup(func() { conn.Close() })
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	fmt.Fprintf(conn, "GET /chat HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", host, key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading handshake response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status = %d, want 101", resp.StatusCode)
	}
	return conn, br, resp, key
}
