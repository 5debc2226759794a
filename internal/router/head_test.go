package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestRequestHeadParse(t *testing.T) {
	tests := []struct {
		name, head string
		fast       bool
		length     int64
		chunked    bool
		close      bool
		connTokens string
	}{
		{"plain GET", "GET /x?y=1 HTTP/1.1\r\nHost: a.localhost\r\n\r\n", true, -1, false, false, ""},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", true, -1, false, false, ""},
		{"POST with length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", true, 12, false, false, ""},
		{"same length twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", true, 3, false, false, ""},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", true, -1, true, false, ""},
		{"close and hop-by-hop names", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\n\r\n", true, -1, false, true, "X-Secret"},
		{"keep-alive token", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true, -1, false, false, ""},

		{"HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\n\r\n", false, 0, false, false, ""},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false, 0, false, false, ""},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", false, 0, false, false, ""},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false, 0, false, false, ""},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", false, 0, false, false, ""},
		{"obsolete folding", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", false, 0, false, false, ""},
		{"length and chunked", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, false, false, ""},
		{"other coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, 0, false, false, ""},
		{"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, false, false, ""},
		{"lengths differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", false, 0, false, false, ""},
		{"length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", false, 0, false, false, ""},
		{"signed length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n", false, 0, false, false, ""},
		{"WebSocket", "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false, 0, false, false, ""},
		{"Connection naming Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\nContent-Length: 3\r\n\r\n", false, 0, false, false, ""},
		{"Connection naming Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nConnection: x, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n", false, 0, false, false, ""},
		{"Connection naming Host", "GET / HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n", false, 0, false, false, ""},
		{"h2c upgrade", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n", false, 0, false, false, ""},
		{"Expect", "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\nExpect: 100-continue\r\n\r\n", false, 0, false, false, ""},
		{"absolute target", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", false, 0, false, false, ""},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", false, 0, false, false, ""},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", false, 0, false, false, ""},
		{"gRPC", "POST /s/M HTTP/1.1\r\nHost: a\r\nContent-Type: application/grpc\r\nContent-Length: 0\r\n\r\n", false, 0, false, false, ""},
		{"control character in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", false, 0, false, false, ""},
		{"control character in target", "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", false, 0, false, false, ""},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nnonsense\r\n\r\n", false, 0, false, false, ""},
		{"extra space in request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", false, 0, false, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := requestHead{buf: []byte(tt.head)}
			err := h.parse()
			if got := err == nil; got != tt.fast {
				t.Fatalf("parse() = %v, want fast path %v", err, tt.fast)
			}
			if !tt.fast {
				return
			}
			var tokens []string
			for _, tok := range h.connTokens {
				tokens = append(tokens, string(tok))
			}
			if h.length != tt.length || h.chunked != tt.chunked || h.close != tt.close || strings.Join(tokens, ",") != tt.connTokens {
				t.Errorf("length %d chunked %v close %v conn tokens %q; want %d %v %v %q",
					h.length, h.chunked, h.close, tokens, tt.length, tt.chunked, tt.close, tt.connTokens)
			}
		})
	}
}

func TestResponseHeadParse(t *testing.T) {
	tests := []struct {
		name, head string
		ok         bool
		status     int
		length     int64
		chunked    bool
		close      bool
	}{
		{"sized", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", true, 200, 2, false, false},
		{"no reason", "HTTP/1.1 204\r\n\r\n", true, 204, -1, false, false},
		{"chunked beats length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", true, 200, -1, true, false},
		{"other coding ends with the connection", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", true, 200, -1, false, true},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", true, 200, -1, false, true},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", true, 200, 1, false, true},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", true, 200, 1, false, false},
		{"garbage", "hello\r\n\r\n", false, 0, 0, false, false},
		{"short code", "HTTP/1.1 20 OK\r\n\r\n", false, 0, 0, false, false},
		{"lengths differ", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", false, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := responseHead{buf: []byte(tt.head)}
			err := h.parse()
			if (err == nil) != tt.ok {
				t.Fatalf("parse() = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && (h.status != tt.status || h.length != tt.length || h.chunked != tt.chunked || h.close != tt.close) {
				t.Errorf("status %d length %d chunked %v close %v; want %d %d %v %v",
					h.status, h.length, h.chunked, h.close, tt.status, tt.length, tt.chunked, tt.close)
			}
		})
	}
}

func TestReadHead(t *testing.T) {
	long := strings.Repeat("x", 20000)
	tests := []struct {
		name, in, want string
		err            error
	}{
		{"one head, then a body", "GET / HTTP/1.1\r\nHost: a\r\n\r\nbody", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", nil},
		{"empty lines before it", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", nil},
		{"a line longer than the buffer", "GET / HTTP/1.1\r\nCookie: " + long + "\r\n\r\n", "GET / HTTP/1.1\r\nCookie: " + long + "\r\n\r\n", nil},
		{"cut short", "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n", io.EOF},
		{"too large", "GET / HTTP/1.1\r\n" + strings.Repeat("X-A: "+long+"\r\n", 60) + "\r\n", "", errHeadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.in), 4096)
			got, err := readHead(br, nil)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && string(got) != tt.want {
				t.Errorf("head = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCopyChunked(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"chunks and trailers", "3\r\nabc\r\n1;ext=1\r\nd\r\n0\r\nX-T: 1\r\n\r\nNEXT", "3\r\nabc\r\n1;ext=1\r\nd\r\n0\r\nX-T: 1\r\n\r\n", true},
		{"upper-case hex", "A\r\n0123456789\r\n0\r\n\r\n", "A\r\n0123456789\r\n0\r\n\r\n", true},
		{"bad size", "g\r\nabc\r\n0\r\n\r\n", "", false},
		{"no size", "\r\n\r\n", "", false},
		{"data longer than its size", "1\r\nab\r\n0\r\n\r\n", "", false},
		{"size too large", "1000000000000000\r\n", "", false},
		{"bare LF after size", "1\nA\r\n0\r\n\r\n", "", false},
		{"cut short", "5\r\nab", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			src := bufio.NewReader(strings.NewReader(tt.in))
			err := copyChunked(w, src)
			w.Flush()
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && out.String() != tt.want {
				t.Errorf("relayed %q, want %q", out.String(), tt.want)
			}
			if tt.ok {
				// The relay stops where the body does.
				rest, _ := io.ReadAll(src)
				if want := strings.TrimPrefix(tt.in, tt.want); string(rest) != want {
					t.Errorf("left %q unread, want %q", rest, want)
				}
			}
		})
	}
}

func TestChunkUntilEOF(t *testing.T) {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := chunkUntilEOF(w, bufio.NewReaderSize(strings.NewReader(strings.Repeat("z", 20)), 16)); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if want := "10\r\nzzzzzzzzzzzzzzzz\r\n4\r\nzzzz\r\n0\r\n\r\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// FuzzRequestHead checks that no head makes the parser panic, and that a
// head it takes has a single Host and unambiguous framing.
func FuzzRequestHead(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close, X\r\n\r\n"))
	f.Add([]byte("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(bytes.NewReader(in))
		buf, err := readHead(br, nil)
		if err != nil {
			return
		}
		h := requestHead{buf: buf}
		if h.parse() != nil {
			return
		}
		if h.host == nil || (h.chunked && h.length >= 0) || len(h.target) == 0 || h.target[0] != '/' {
			t.Fatalf("took %q: host %q chunked %v length %d target %q", buf, h.host, h.chunked, h.length, h.target)
		}
	})
}
