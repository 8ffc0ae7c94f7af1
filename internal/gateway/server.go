package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServerOptions tune the client-facing listener.
type ServerOptions struct {
	// MaxHeaderBytes bounds request heads (431 beyond). Default 32 KiB.
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds how long a client may take to send a head.
	// Default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections. Default 120s.
	IdleTimeout time.Duration
	// CertFile and KeyFile switch on TLS (HTTP/2 by ALPN). Without them the
	// listener speaks HTTP/1.1 and cleartext HTTP/2 (h2c, prior knowledge).
	CertFile, KeyFile string
	// ShutdownGrace is how long requests in flight may take to finish once
	// ctx is done. Default 15s.
	ShutdownGrace time.Duration
	// FrontEnd chooses who reads HTTP/1.1 on a cleartext listener serving a
	// Gateway; "" means FrontEndFast.
	FrontEnd FrontEnd
}

// FrontEnd names the server that reads requests on a cleartext listener.
type FrontEnd string

const (
	// FrontEndFast is the gateway's own HTTP/1.1 loop (front.go) for plain
	// requests, handing every other connection (HTTP/2 prior knowledge,
	// chunked or Upgrade requests, odd heads) to net/http. It applies when
	// the handler is a *Gateway using its own Transport; otherwise, and
	// with TLS, net/http serves everything.
	FrontEndFast FrontEnd = "fast"
	// FrontEndNetHTTP serves every connection with net/http.
	FrontEndNetHTTP FrontEnd = "net/http"
)

// ParseFrontEnd reads a FrontEnd name.
func ParseFrontEnd(s string) (FrontEnd, error) {
	switch fe := FrontEnd(s); fe {
	case FrontEndFast, FrontEndNetHTTP:
		return fe, nil
	}
	return "", fmt.Errorf("front end %q: want %q or %q", s, FrontEndFast, FrontEndNetHTTP)
}

// NewServer returns the http.Server that serves h (normally a Gateway) with
// the limits of opts.
func NewServer(h http.Handler, log *slog.Logger, opts ServerOptions) *http.Server {
	opts = opts.withDefaults()
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	if opts.CertFile == "" {
		p.SetUnencryptedHTTP2(true)
	}
	return &http.Server{
		Handler:           h,
		Protocols:         p,
		MaxHeaderBytes:    opts.MaxHeaderBytes,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		IdleTimeout:       opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if hc, ok := c.(*headConn); ok {
				return context.WithValue(ctx, headConnKey{}, hc)
			}
			return ctx
		},
	}
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 32 << 10
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 15 * time.Second
	}
	return o
}

// Serve serves h on ln until ctx is done, then shuts down gracefully:
// requests in flight get opts.ShutdownGrace to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger, opts ServerOptions) error {
	opts = opts.withDefaults()
	srv := NewServer(h, log, opts)
	f := fastFront(h, log, opts, ln)
	srvErr, frontErr := make(chan error, 1), make(chan error, 1)
	go func() {
		switch {
		case opts.CertFile != "":
			srvErr <- srv.ServeTLS(ln, opts.CertFile, opts.KeyFile)
		case f != nil:
			srvErr <- srv.Serve(f.handoff)
		default:
			srvErr <- srv.Serve(headListener{ln})
		}
	}()
	if f != nil {
		go func() { frontErr <- f.serve(ln) }()
	}
	var failed error
	select {
	case err := <-srvErr:
		srvErr <- err
		failed = fmt.Errorf("serve: %w", err)
	case err := <-frontErr:
		failed = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownGrace)
	defer cancel()
	var errs []error
	if f != nil {
		_ = ln.Close()
		if err := f.shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
	}
	if err := <-srvErr; !errors.Is(err, http.ErrServerClosed) && failed == nil {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	return errors.Join(append([]error{failed}, errs...)...)
}

// fastFront returns the fast front end for h on ln, or nil when net/http
// serves everything.
func fastFront(h http.Handler, log *slog.Logger, opts ServerOptions, ln net.Listener) *front {
	gw, ok := h.(*Gateway)
	if !ok || opts.CertFile != "" || opts.FrontEnd == FrontEndNetHTTP {
		return nil
	}
	t, ok := gw.upstream.(*Transport)
	if !ok {
		return nil
	}
	return newFront(gw, t, log, opts, ln.Addr())
}

// headListener wraps accepted connections in headConn for the smuggling
// check.
type headListener struct{ net.Listener }

func (l headListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &headConn{Conn: c}, nil
}
