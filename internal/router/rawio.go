package router

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawIO reads and writes a TCP connection's non-blocking socket with raw
// system calls, under the connection's own locks (syscall.RawConn), and
// waits in the runtime's poller only when the socket is not ready.
//
// net.Conn's Read and Write tell the runtime they enter a system call. A
// write on loopback runs the receiver's TCP input too, tens of
// microseconds, and the runtime's monitor then hands the goroutine's P to
// another thread, waking it, and the writer, back from the call, finds its
// P gone and sleeps: thread switches that nginx does not pay, and a
// monitor kept awake every 20 µs. A call on a non-blocking socket never
// blocks, so it can run as a raw one, which the runtime does not watch.
type rawIO struct {
	rc syscall.RawConn
	// rd and wr are the read and the write under way: a connection is
	// read and written at once (a request body streams to a backend while
	// its answer is read).
	rd, wr rawCall
	// readFn and writeFn are read and write, bound once so that calls do
	// not allocate.
	readFn  func(uintptr) bool
	writeFn func(uintptr) bool
}

// rawCall is one raw read or write: its buffer, the bytes done, and its
// error.
type rawCall struct {
	buf []byte
	n   int
	err error
}

// newRawIO returns nc's rawIO, or nc itself when it has no raw connection
// (TLS).
func newRawIO(nc net.Conn) io.ReadWriter {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nc
	}
	r := &rawIO{rc: rc}
	r.readFn, r.writeFn = r.read, r.write
	return r
}

func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.rd = rawCall{buf: p}
	err := r.rc.Read(r.readFn)
	c := r.rd
	r.rd = rawCall{}
	if err != nil {
		return 0, err // a deadline, or the connection closed
	}
	return c.n, c.err
}

// read is Read's raw read function: false waits for the socket to be
// readable, true ends the call.
func (r *rawIO) read(fd uintptr) bool {
	c := &r.rd
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.buf[0])), uintptr(len(c.buf)))
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return false
		case e != 0:
			c.err = os.NewSyscallError("read", e)
		case n == 0:
			c.err = io.EOF
		default:
			c.n = int(n)
		}
		return true
	}
}

func (r *rawIO) Write(p []byte) (int, error) {
	r.wr = rawCall{buf: p}
	err := r.rc.Write(r.writeFn)
	c := r.wr
	r.wr = rawCall{}
	if c.err != nil {
		return c.n, c.err
	}
	return c.n, err
}

// write is Write's raw write function: it writes until the socket is full
// (false: wait until it is writable) or everything is written.
func (r *rawIO) write(fd uintptr) bool {
	c := &r.wr
	for c.n < len(c.buf) {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&c.buf[c.n])), uintptr(len(c.buf)-c.n))
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			return false
		case e != 0:
			c.err = os.NewSyscallError("write", e)
			return true
		}
		c.n += int(n)
	}
	return true
}
