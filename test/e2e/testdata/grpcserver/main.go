// Command grpcserver is the end-to-end tests' gRPC app: grpc-go's health
// service (Check is unary, Watch server-streaming) and a WebSocket echo at
// /echo, on one port ($PORT, default 8080). HTTP/2 connections (by prior
// knowledge, as gRPC clients open them) go to grpc-go's own server, the
// others to net/http.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	mux := newProtoMux(ln)

	hs := health.NewServer()
	hs.SetServingStatus("e2e", healthpb.HealthCheckResponse_SERVING)
	// Watchers of "flip" see its status change every 100ms, for ever.
	hs.SetServingStatus("flip", healthpb.HealthCheckResponse_SERVING)
	go func() {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		for range time.Tick(100 * time.Millisecond) {
			hs.SetServingStatus("flip", st)
			st = healthpb.HealthCheckResponse_SERVING + healthpb.HealthCheckResponse_NOT_SERVING - st
		}
	}()
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	go func() { log.Fatal(gs.Serve(mux.h2)) }()

	http.HandleFunc("/echo", echo)
	http.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) { fmt.Fprintf(w, "grpcserver %s\n", req.Proto) })
	log.Printf("grpcserver listening on %s", ln.Addr())
	log.Fatal(http.Serve(mux.h1, nil))
}

// protoMux splits one listener's connections by their first bytes: the
// HTTP/2 client preface or anything else.
type protoMux struct {
	h1, h2 *chanListener
}

func newProtoMux(ln net.Listener) *protoMux {
	m := &protoMux{h1: newChanListener(ln), h2: newChanListener(ln)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				m.h1.fail(err)
				m.h2.fail(err)
				return
			}
			go m.sort(c)
		}
	}()
	return m
}

const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

func (m *protoMux) sort(c net.Conn) {
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head, err := br.Peek(len(preface))
	c.SetReadDeadline(time.Time{})
	pc := &peekedConn{Conn: c, r: br}
	if err == nil && string(head) == preface {
		m.h2.ch <- pc
		return
	}
	if len(head) == 0 {
		// A TCP health check: connected, then closed.
		c.Close()
		return
	}
	m.h1.ch <- pc
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

type chanListener struct {
	net.Listener
	ch   chan net.Conn
	once sync.Once
	err  error
	done chan struct{}
}

func newChanListener(ln net.Listener) *chanListener {
	return &chanListener{Listener: ln, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) fail(err error) {
	l.once.Do(func() { l.err = err; close(l.done) })
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, l.err
	}
}

// echo is a WebSocket echo of text frames, made by hand (RFC 6455).
func echo(w http.ResponseWriter, req *http.Request) {
	if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "want a WebSocket", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	if brw.Flush() != nil {
		return
	}
	for {
		msg, err := readFrame(brw.Reader)
		if err != nil {
			return
		}
		var out bytes.Buffer
		out.Write([]byte{0x81, byte(len(msg))})
		out.Write(msg)
		if _, err := conn.Write(out.Bytes()); err != nil {
			return
		}
	}
}

// readFrame reads one masked client frame of up to 125 bytes.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0]&0x0f == 0x8 {
		return nil, io.EOF // close
	}
	n := int(hdr[1] & 0x7f)
	if n > 125 || hdr[1]&0x80 == 0 {
		return nil, errors.New("want a masked frame of at most 125 bytes")
	}
	var mask [4]byte
	if _, err := io.ReadFull(r, mask[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	for i := range msg {
		msg[i] ^= mask[i%4]
	}
	return msg, nil
}
