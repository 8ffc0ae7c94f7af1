// Command backend is the upstream of the gateway benchmark: one process
// serving the "stable" and "gray" versions on two loopback ports, each
// answering every request with a short fixed body naming its version.
//
//	backend -stable 127.0.0.1:9001 -gray 127.0.0.1:9002
//	backend -free-ports 4   # prints four free loopback ports and exits
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		os.Exit(1)
	}
}

func run() error {
	stable := flag.String("stable", "127.0.0.1:9001", "address of the stable version")
	gray := flag.String("gray", "127.0.0.1:9002", "address of the gray version")
	free := flag.Int("free-ports", 0, "print this many free loopback ports and exit")
	flag.Parse()
	if *free > 0 {
		return freePorts(*free)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 2)
	for _, v := range []struct{ name, addr string }{{"stable", *stable}, {"gray", *gray}} {
		body := []byte("hello from " + v.name + "\n")
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		})
		srv := &http.Server{Addr: v.addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- srv.ListenAndServe() }()
		go func() { <-ctx.Done(); _ = srv.Close() }()
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	return nil
}

func freePorts(n int) error {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}
