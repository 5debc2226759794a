package router

import (
	"net/http/httputil"
	"sync"
)

// bufferPool recycles the ReverseProxy's 32 KiB copy buffers, which would
// otherwise be allocated for every proxied response.
type bufferPool struct {
	pool sync.Pool
}

func newBufferPool() *bufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any {
		b := make([]byte, 32*1024)
		return &b
	}}}
}

func (p *bufferPool) Get() []byte { return *p.pool.Get().(*[]byte) }

func (p *bufferPool) Put(b []byte) {
	if cap(b) < 32*1024 {
		return
	}
	b = b[:32*1024]
	p.pool.Put(&b)
}

var _ httputil.BufferPool = (*bufferPool)(nil)
