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
	errc := make(chan error, 1)
	go func() {
		if opts.CertFile != "" {
			errc <- srv.ServeTLS(ln, opts.CertFile, opts.KeyFile)
			return
		}
		errc <- srv.Serve(headListener{ln})
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
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
