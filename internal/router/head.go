package router

import (
	"bufio"
	"bytes"
	"errors"
)

// The HTTP/1.1 fast path (fast.go) reads and writes message heads itself.
// It takes only requests it can relay exactly; anything unusual, ambiguous
// or malformed is handed to net/http's server, which answers it as before
// (400 for a malformed request), so the fast path never has to be lenient.

// maxHeadBytes bounds a message head, as net/http's DefaultMaxHeaderBytes.
const maxHeadBytes = 1 << 20

// errHeadTooLarge says a head went past maxHeadBytes.
var errHeadTooLarge = errors.New("message head too large")

// field is one header field of a parsed head; name and value alias the
// head's buffer.
type field struct {
	name, value []byte
}

// readHead appends the next message head from br, up to and including its
// empty line, to buf. Empty lines before it are skipped (RFC 9112 section
// 2.2). The bytes are copied: br may reuse its buffer at the next read.
func readHead(br *bufio.Reader, buf []byte) ([]byte, error) {
	start, lineStart := len(buf), len(buf)
	for {
		line, err := br.ReadSlice('\n')
		buf = append(buf, line...)
		if len(buf)-start > maxHeadBytes {
			return buf, errHeadTooLarge
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue // a line longer than br's buffer: read on
		case err != nil:
			return buf, err
		}
		if l := buf[lineStart:]; len(l) == 1 || (len(l) == 2 && l[0] == '\r') {
			if lineStart > start {
				return buf, nil
			}
			buf = buf[:start] // an empty line before the start line
		}
		lineStart = len(buf)
	}
}

// lines calls fn with each line of head, without its line ending, up to
// the empty line that ends it.
func lines(head []byte, fn func(line []byte) bool) {
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			i = len(head) - 1
		}
		line := head[:i]
		head = head[i+1:]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 || !fn(line) {
			return
		}
	}
}

// parseField splits a header line into name and value, reporting false for
// what RFC 9112 forbids or net/http would refuse: no colon, an empty name,
// a name with anything but token characters (whitespace before the colon
// included), an obsolete line folding, control characters in the value.
func parseField(line []byte) (field, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return field{}, false
	}
	name := line[:i]
	for _, c := range name {
		if !isTokenChar(c) {
			return field{}, false
		}
	}
	value := trimOWS(line[i+1:])
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return field{}, false
		}
	}
	return field{name: name, value: value}, true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return c < 0x80 && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// is reports whether name equals the lower-case header name lower, ignoring
// case.
func is(name []byte, lower string) bool {
	if len(name) != len(lower) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token,
// ignoring case.
func hasToken(v []byte, token string) bool {
	found := false
	eachToken(v, func(t []byte) {
		if is(t, token) {
			found = true
		}
	})
	return found
}

func eachToken(v []byte, fn func(t []byte)) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		if i < 0 {
			i = len(v)
		}
		if t := trimOWS(v[:i]); len(t) > 0 {
			fn(t)
		}
		if i == len(v) {
			return
		}
		v = v[i+1:]
	}
}

// addLength takes one Content-Length field into cur, the length so far
// (-1 for none): it must be well formed, and equal to any earlier one.
func addLength(cur int64, v []byte) (int64, bool) {
	n, ok := parseLength(v)
	if !ok || (cur >= 0 && n != cur) {
		return cur, false
	}
	return n, true
}

// parseLength parses a Content-Length value: digits only, as net/http.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hopByHop reports whether a header of this name is about one connection
// and must not be forwarded (RFC 9110 section 7.6.1, as
// httputil.ReverseProxy has them). Transfer-Encoding is not here: the fast
// path relays a chunked body as it is, framing included.
func hopByHop(name []byte) bool {
	switch len(name) {
	case 2:
		return is(name, "te")
	case 7:
		return is(name, "upgrade")
	case 10:
		return is(name, "connection") || is(name, "keep-alive")
	case 16:
		return is(name, "proxy-connection")
	case 18:
		return is(name, "proxy-authenticate")
	case 19:
		return is(name, "proxy-authorization")
	}
	return false
}

// requestHead is a parsed HTTP/1.1 request head.
type requestHead struct {
	buf []byte // the raw head, owned; the slices below alias it

	method, target []byte
	fields         []field
	host           []byte
	// length is the body's Content-Length, -1 when there is none.
	length  int64
	chunked bool
	// close says the client asked for the connection to end after this
	// request.
	close bool
	// connTokens are the Connection header's tokens: the names of further
	// hop-by-hop headers.
	connTokens [][]byte
	// teTrailers says the client accepts trailers ("TE: trailers"), the one
	// TE value that is forwarded.
	teTrailers bool
}

// Reasons a request leaves the fast path for net/http's server.
var (
	errNotFast = errors.New("not for the fast path")
)

// parse parses h.buf. An error means the request must go to net/http: it
// is malformed, or uses something the fast path leaves to net/http
// (HTTP/1.0, HTTP/2's preface, upgrades, Expect, absolute or asterisk
// targets, transfer codings other than chunked, gRPC).
func (h *requestHead) parse() error {
	h.method, h.target, h.host = nil, nil, nil
	h.fields = h.fields[:0]
	h.connTokens = h.connTokens[:0]
	h.length, h.chunked, h.close, h.teTrailers = -1, false, false, false
	ok, first, hosts := true, true, 0
	lines(h.buf, func(line []byte) bool {
		if first {
			first = false
			ok = h.parseRequestLine(line)
			return ok
		}
		f, fok := parseField(line)
		if !fok {
			ok = false
			return false
		}
		switch {
		case is(f.name, "host"):
			hosts++
			h.host = f.value
		case is(f.name, "content-length"):
			if h.length, ok = addLength(h.length, f.value); !ok {
				return false
			}
		case is(f.name, "transfer-encoding"):
			if h.chunked || !is(f.value, "chunked") {
				ok = false
				return false
			}
			h.chunked = true
		case is(f.name, "connection"):
			eachToken(f.value, func(t []byte) {
				switch {
				case is(t, "close"):
					h.close = true
				case is(t, "upgrade"), framingHeader(t):
					// A framing header named hop-by-hop would be dropped
					// while its body is still relayed: the backend would
					// frame the bytes differently (smuggling).
					ok = false
				case is(t, "keep-alive"):
				default:
					h.connTokens = append(h.connTokens, t)
				}
			})
		case is(f.name, "te"):
			h.teTrailers = hasToken(f.value, "trailers")
		case is(f.name, "upgrade"), is(f.name, "expect"):
			ok = false
		case is(f.name, "content-type"):
			if isGRPC(string(f.value)) {
				ok = false
			}
		}
		h.fields = append(h.fields, f)
		return ok
	})
	if !ok || first || hosts != 1 || (h.chunked && h.length >= 0) {
		return errNotFast
	}
	return nil
}

// parseRequestLine takes "METHOD /target HTTP/1.1" and nothing else.
func (h *requestHead) parseRequestLine(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return false
	}
	h.method = line[:sp]
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 || string(rest[sp+1:]) != "HTTP/1.1" {
		return false
	}
	h.target = rest[:sp]
	for _, c := range h.method {
		if !isTokenChar(c) {
			return false
		}
	}
	if string(h.method) == "PRI" || string(h.method) == "CONNECT" || h.target[0] != '/' {
		return false
	}
	for _, c := range h.target {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// hopByHop reports whether the field f must not be forwarded.
func (h *requestHead) hopByHop(f field) bool { return connectionField(f, h.connTokens) }

// framingHeader reports whether name is a header that frames a message
// (or routes it), which a Connection header must not make hop-by-hop.
func framingHeader(name []byte) bool {
	return is(name, "content-length") || is(name, "transfer-encoding") || is(name, "host")
}

// connectionField reports whether f is about one connection: a hop-by-hop
// header, or one its head's Connection header names (tokens).
func connectionField(f field, tokens [][]byte) bool {
	if hopByHop(f.name) {
		return true
	}
	for _, t := range tokens {
		if bytes.EqualFold(t, f.name) {
			return true
		}
	}
	return false
}

// replayable reports whether the request may be sent again after a
// backend took it and closed without answering: an idempotent method
// without a body, or one with an Idempotency-Key (as net/http's transport).
func (h *requestHead) replayable() bool {
	switch string(h.method) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	for _, f := range h.fields {
		if is(f.name, "idempotency-key") || is(f.name, "x-idempotency-key") {
			return true
		}
	}
	return false
}

// responseHead is a parsed response head from a backend.
type responseHead struct {
	buf []byte

	major, minor int
	status       int
	// statusText is the status line after the version: "200 OK".
	statusText []byte
	fields     []field
	length     int64
	chunked    bool
	// codings is the Transfer-Encoding value, kept for the client: a
	// coding before chunked (gzip, chunked) is part of the body.
	codings []byte
	// close says the backend will close the connection after this
	// response.
	close      bool
	connTokens [][]byte
}

var errBadResponse = errors.New("malformed response head")

func (h *responseHead) parse() error {
	h.statusText = nil
	h.fields = h.fields[:0]
	h.connTokens = h.connTokens[:0]
	h.length, h.chunked, h.close, h.codings = -1, false, false, nil
	ok, first, keepAlive := true, true, false
	lines(h.buf, func(line []byte) bool {
		if first {
			first = false
			ok = h.parseStatusLine(line)
			return ok
		}
		f, fok := parseField(line)
		if !fok {
			ok = false
			return false
		}
		switch {
		case is(f.name, "content-length"):
			if h.length, ok = addLength(h.length, f.value); !ok {
				return false
			}
		case is(f.name, "transfer-encoding"):
			// A body whose last coding is chunked is delimited by it;
			// any other is delimited by the connection's end.
			h.chunked = lastToken(f.value, "chunked")
			if !h.chunked {
				h.close = true
			}
			h.codings = f.value
		case is(f.name, "connection"):
			eachToken(f.value, func(t []byte) {
				switch {
				case is(t, "close"):
					h.close = true
				case is(t, "keep-alive"):
					keepAlive = true
				case framingHeader(t):
					// Never dropped: the client needs the framing.
				default:
					h.connTokens = append(h.connTokens, t)
				}
			})
		}
		h.fields = append(h.fields, f)
		return true
	})
	if !ok || first {
		return errBadResponse
	}
	if h.chunked {
		// Transfer-Encoding overrides Content-Length (RFC 9112 6.3).
		h.length = -1
	}
	if h.major == 1 && h.minor == 0 && !keepAlive {
		h.close = true
	}
	return nil
}

func lastToken(v []byte, token string) bool {
	var last []byte
	eachToken(v, func(t []byte) { last = t })
	return is(last, token)
}

// parseStatusLine takes "HTTP/1.x NNN reason".
func (h *responseHead) parseStatusLine(line []byte) bool {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || line[7] < '0' || line[7] > '9' {
		return false
	}
	h.major, h.minor = 1, int(line[7]-'0')
	code := line[9:12]
	if len(line) > 12 && line[12] != ' ' {
		return false
	}
	n := 0
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	if n < 100 {
		return false
	}
	h.status = n
	h.statusText = line[9:]
	return true
}

// hopByHop reports whether the field f must not be forwarded.
func (h *responseHead) hopByHop(f field) bool { return connectionField(f, h.connTokens) }

// bodyless reports whether a response to method with this status has no
// body, whatever its head says (RFC 9112 section 6.3).
func (h *responseHead) bodyless(head bool) bool {
	return head || h.status < 200 || h.status == 204 || h.status == 304
}
