package router

import (
	"bufio"
	"errors"
	"io"
	"strconv"
)

// The fast path relays bodies between two buffered connections. Each copy
// flushes dst whenever src has nothing left buffered, just before it would
// block: a response that arrives in one piece leaves in one write, head
// included, and one that trickles (server-sent events, long polls, slow
// uploads) is passed on as it comes, with nothing held back.

var errBadChunk = errors.New("malformed chunked body")

// fill makes sure src has buffered data, flushing dst first if it must
// wait for it.
func fill(dst *bufio.Writer, src *bufio.Reader) error {
	if src.Buffered() > 0 {
		return nil
	}
	if dst.Buffered() > 0 {
		if err := dst.Flush(); err != nil {
			return err
		}
	}
	_, err := src.Peek(1)
	return err
}

// copyLength copies exactly n bytes of src to dst.
func copyLength(dst *bufio.Writer, src *bufio.Reader, n int64) error {
	for n > 0 {
		if err := fill(dst, src); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		k := src.Buffered()
		if int64(k) > n {
			k = int(n)
		}
		b, _ := src.Peek(k)
		if _, err := dst.Write(b); err != nil {
			return err
		}
		src.Discard(k)
		n -= int64(k)
	}
	return nil
}

// copyChunked relays a chunked body (RFC 9112 section 7.1) byte for byte,
// chunk extensions and trailers included, checking its framing so that
// the relay ends exactly where the body does.
func copyChunked(dst *bufio.Writer, src *bufio.Reader) error {
	for {
		line, err := chunkLine(dst, src)
		if err != nil {
			return err
		}
		size, ok := chunkSize(line)
		if !ok {
			return errBadChunk
		}
		if _, err := dst.Write(line); err != nil {
			return err
		}
		if size == 0 {
			// The trailer section, up to its empty line.
			for {
				line, err := chunkLine(dst, src)
				if err != nil {
					return err
				}
				if _, err := dst.Write(line); err != nil {
					return err
				}
				if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
					return nil
				}
			}
		}
		if err := copyLength(dst, src, size); err != nil {
			return err
		}
		line, err = chunkLine(dst, src)
		if err != nil {
			return err
		}
		if len(line) != 2 || line[0] != '\r' {
			return errBadChunk
		}
		if _, err := dst.Write(line); err != nil {
			return err
		}
	}
}

// chunkLine reads one line of chunked framing, valid until src is read
// again.
func chunkLine(dst *bufio.Writer, src *bufio.Reader) ([]byte, error) {
	if err := fill(dst, src); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line, err := src.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, errBadChunk
	case err == io.EOF:
		return nil, io.ErrUnexpectedEOF
	}
	return line, err
}

// chunkSize parses a chunk-size line: hex digits, then optional
// extensions after ';', then CRLF.
func chunkSize(line []byte) (int64, bool) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, false
	}
	line = line[:len(line)-2]
	var n int64
	digits := 0
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		case c == ';' || c == ' ' || c == '\t':
			return n, digits > 0
		default:
			return 0, false
		}
		if digits++; digits > 15 {
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, digits > 0
}

// chunkUntilEOF reads src until it ends and writes what it read to dst as
// a chunked body: a response delimited by the backend closing its
// connection keeps the client's connection alive.
func chunkUntilEOF(dst *bufio.Writer, src *bufio.Reader) error {
	var size []byte
	for {
		if err := fill(dst, src); err != nil {
			if err == io.EOF {
				_, err = dst.WriteString("0\r\n\r\n")
				return err
			}
			return err
		}
		b, _ := src.Peek(src.Buffered())
		size = strconv.AppendInt(size[:0], int64(len(b)), 16)
		size = append(size, '\r', '\n')
		dst.Write(size)
		dst.Write(b)
		if _, err := dst.WriteString("\r\n"); err != nil {
			return err
		}
		src.Discard(len(b))
	}
}
