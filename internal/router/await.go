package router

import (
	"bufio"
	"io"
	"syscall"
)

// Go's net.Conn reads a socket before it waits for it. After the router
// sends a request to a backend, or an answer to a keep-alive client, the
// other side has yet to run, so that read finds nothing and costs a system
// call failing with EAGAIN before the goroutine parks: 1.6 such reads a
// request under load (bench/router), where nginx makes none. A writeWaiter
// instead writes from inside a raw read (syscall.RawConn.Read): the
// runtime forgets the connection's earlier readiness before it calls the
// read function, so the readiness it then waits for comes after the write,
// and the read that follows finds data. Readiness that came before the
// write is lost with it, which is sound only where the other side sends
// nothing before it has what was written (see flushAwait, awaitRequest).

// writeWaiter flushes a connection's buffered writes and waits until the
// connection is readable.
type writeWaiter struct {
	bw  *bufio.Writer
	raw syscall.RawConn // nil when the connection has none (TLS)
	// fn is w.step, bound once so that wait does not allocate; flushed
	// and err are its state.
	fn      func(uintptr) bool
	flushed bool
	err     error
}

// newWriteWaiter returns the writeWaiter of bw, which writes to rw (see
// newRawIO).
func newWriteWaiter(rw io.ReadWriter, bw *bufio.Writer) *writeWaiter {
	w := &writeWaiter{bw: bw}
	if r, ok := rw.(*rawIO); ok {
		w.raw = r.rc
	}
	w.fn = w.step
	return w
}

// wait flushes the buffered writes from inside a raw read and returns once
// the connection is readable: the flush's error, then the wait's (the read
// deadline, say). The writes are flushed even when the wait ends before it
// began.
func (w *writeWaiter) wait() (flushErr, waitErr error) {
	w.flushed, w.err = false, nil
	waitErr = w.raw.Read(w.fn)
	if !w.flushed {
		w.err = w.bw.Flush()
	}
	return w.err, waitErr
}

// step is wait's raw read function: the first call writes and asks to
// wait (false) unless the write failed; the next, made once the
// connection is readable, ends the wait.
func (w *writeWaiter) step(uintptr) bool {
	if w.flushed {
		return true
	}
	w.flushed = true
	w.err = w.bw.Flush()
	return w.err != nil
}
