// Command testapp is the app in the test images: a static HTTP server on
// 127.0.0.1:$PORT ($APP_HOST:$PORT, or -listen) that can also crash or run out of memory on
// request, and report whether it can connect somewhere (/dial).
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	mode := flag.String("mode", os.Getenv("APP_MODE"), "serve, exit or oom")
	version := flag.String("version", os.Getenv("APP_VERSION"), "version to report")
	listen := flag.String("listen", os.Getenv("APP_LISTEN"), "address to listen on, whatever $PORT says (default 127.0.0.1:$PORT)")
	flag.Parse()
	fmt.Printf("testapp starting version=%s mode=%s\n", *version, *mode)
	fmt.Fprintln(os.Stderr, "testapp stderr line")
	switch *mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "testapp exiting with code 3")
		os.Exit(3)
	case "oom":
		var hog [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			hog = append(hog, b)
			if len(hog)%16 == 0 {
				fmt.Printf("allocated %d MiB\n", len(hog))
			}
		}
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from testapp %s\n", *version)
	})
	// /pid names this process across containers, where each one is pid 1.
	http.HandleFunc("/pid", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		fmt.Fprintf(w, "hello from testapp %s pid=%s/%d\n", *version, host, os.Getpid())
	})
	// /where names the address the request came in on: on a cluster, the
	// node's.
	http.HandleFunc("/where", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from testapp %s at %v\n", *version, r.Context().Value(http.LocalAddrContextKey))
	})
	// /dial?addr=HOST:PORT says whether the app can connect there.
	http.HandleFunc("/dial", func(w http.ResponseWriter, r *http.Request) {
		c, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), 2*time.Second)
		if err != nil {
			fmt.Fprintf(w, "error: %v\n", err)
			return
		}
		c.Close()
		fmt.Fprintln(w, "connected")
	})
	http.HandleFunc("/log", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.URL.Query().Get("msg"))
	})
	host := os.Getenv("APP_HOST") // where it listens on $PORT; all addresses on a cluster node
	if host == "" {
		host = "127.0.0.1"
	}
	srv := &http.Server{Addr: net.JoinHostPort(host, os.Getenv("PORT"))}
	if *listen != "" {
		srv.Addr = *listen
	}
	if os.Getenv("APP_IGNORE_TERM") != "" {
		signal.Ignore(syscall.SIGTERM)
	}
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT)
		if os.Getenv("APP_IGNORE_TERM") == "" {
			signal.Notify(sigs, syscall.SIGTERM)
		}
		<-sigs
		fmt.Println("testapp shutting down")
		srv.SetKeepAlivesEnabled(false)
		time.Sleep(10 * time.Millisecond)
		os.Exit(0)
	}()
	fmt.Println("testapp listening on", srv.Addr)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
