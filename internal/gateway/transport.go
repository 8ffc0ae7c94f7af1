package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Transport is the gateway's HTTP/1.1 client to upstreams. Unlike
// http.Transport, which hands every exchange to a reader and a writer
// goroutine per connection, it writes the request and reads the response
// head on the calling goroutine, over a LIFO pool of keep-alive connections
// per address: fewer goroutine switches and allocations per request, which
// is most of a proxy's CPU time besides the system calls (ADR 0002).
//
// It speaks HTTP/1.1 only, which is what in-cluster upstreams speak. A
// request that fails on a reused connection before any response byte
// arrived (the upstream closed it while idle) is retried once on a new
// connection when its body can be replayed.
type Transport struct {
	// MaxIdlePerHost bounds the idle connections kept per address.
	MaxIdlePerHost int
	// IdleTimeout drops idle connections older than this.
	IdleTimeout time.Duration
	// DialTimeout bounds connecting.
	DialTimeout time.Duration

	mu        sync.Mutex
	idle      map[string][]*upConn
	lastPrune time.Time
}

// NewTransport returns the upstream transport with the gateway's defaults:
// 256 idle connections per address, dropped after 90s idle, 5s to connect.
func NewTransport() *Transport {
	return &Transport{MaxIdlePerHost: 256, IdleTimeout: 90 * time.Second, DialTimeout: 5 * time.Second}
}

var _ http.RoundTripper = (*Transport)(nil)

type upConn struct {
	t      *Transport
	addr   string
	nc     net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	idleAt time.Time
	resp   respHead // the fast front end's parsed response head
}

// RoundTrip sends req to req.URL.Host and returns the response; its Body
// must be read to the end or closed.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	addr := req.URL.Host
	for attempt := 0; ; attempt++ {
		uc, reused, err := t.conn(req.Context(), addr)
		if err != nil {
			return nil, err
		}
		resp, err := uc.exchange(req)
		if err == nil {
			return resp, nil
		}
		uc.nc.Close()
		if reused && attempt == 0 && errors.Is(err, errNoResponse) && replayable(req) && req.Context().Err() == nil {
			continue
		}
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
}

func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody
}

var errNoResponse = errors.New("upstream closed the connection before responding")

func (t *Transport) conn(ctx context.Context, addr string) (*upConn, bool, error) {
	if uc, ok := t.idleConn(addr); ok {
		return uc, true, nil
	}
	d := net.Dialer{Timeout: t.DialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, fmt.Errorf("dial upstream: %w", err)
	}
	return t.newConn(addr, nc), false, nil
}

// idleConn takes the most recently used idle connection to addr, if any.
func (t *Transport) idleConn(addr string) (*upConn, bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for list := t.idle[addr]; len(list) > 0; list = t.idle[addr] {
		uc := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[addr] = list[:len(list)-1]
		if now.Sub(uc.idleAt) < t.IdleTimeout {
			return uc, true
		}
		uc.nc.Close()
	}
	return nil, false
}

// dial connects to addr, giving up at deadline (if not zero) or after
// DialTimeout.
func (t *Transport) dial(addr string, deadline time.Time) (*upConn, error) {
	d := net.Dialer{Timeout: t.DialTimeout, Deadline: deadline, KeepAlive: 30 * time.Second}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial upstream: %w", err)
	}
	return t.newConn(addr, nc), nil
}

func (t *Transport) newConn(addr string, nc net.Conn) *upConn {
	return &upConn{t: t, addr: addr, nc: nc, br: bufio.NewReaderSize(nc, 8<<10), bw: bufio.NewWriterSize(nc, 8<<10)}
}

func (t *Transport) put(uc *upConn) {
	uc.idleAt = time.Now()
	t.mu.Lock()
	if t.idle == nil {
		t.idle = map[string][]*upConn{}
	}
	if uc.idleAt.Sub(t.lastPrune) > t.IdleTimeout/2 {
		t.pruneLocked(uc.idleAt)
	}
	if len(t.idle[uc.addr]) < t.MaxIdlePerHost {
		t.idle[uc.addr] = append(t.idle[uc.addr], uc)
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	uc.nc.Close()
}

// pruneLocked closes connections idle for longer than IdleTimeout and
// forgets addresses with none left, so that pods that went away (their
// addresses never asked for again) do not keep file descriptors open.
func (t *Transport) pruneLocked(now time.Time) {
	t.lastPrune = now
	for addr, list := range t.idle {
		kept := list[:0]
		for _, uc := range list {
			if now.Sub(uc.idleAt) < t.IdleTimeout {
				kept = append(kept, uc)
				continue
			}
			uc.nc.Close()
		}
		clear(list[len(kept):])
		if len(kept) == 0 {
			delete(t.idle, addr)
			continue
		}
		t.idle[addr] = kept
	}
}

// CloseIdleConnections closes every idle connection.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, list := range idle {
		for _, uc := range list {
			uc.nc.Close()
		}
	}
}

// exchange writes req and reads the response head. Cancelling req's context
// unblocks it (and a later body read) by expiring the connection's deadline.
func (uc *upConn) exchange(req *http.Request) (*http.Response, error) {
	stop := context.AfterFunc(req.Context(), func() { _ = uc.nc.SetDeadline(time.Unix(1, 0)) })
	var body *bodyReader
	if req.Body != nil && req.Body != http.NoBody {
		body = &bodyReader{ReadCloser: req.Body}
		req.Body = body
	}
	if err := req.Write(uc.bw); err != nil {
		stop()
		if body != nil && body.err != nil {
			// The client's body failed (too large, client gone): say so,
			// not that the upstream did.
			return nil, &clientBodyError{body.err}
		}
		return nil, fmt.Errorf("write upstream request: %w", err)
	}
	if err := uc.bw.Flush(); err != nil {
		stop()
		return nil, fmt.Errorf("write upstream request: %w", err)
	}
	resp, err := uc.readResponse(req)
	if err != nil {
		stop()
		return nil, err
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		stop()
		resp.Body = &upgraded{Reader: uc.br, Conn: uc.nc}
		return resp, nil
	}
	resp.Body = &upBody{uc: uc, body: resp.Body, stop: stop, reuse: !resp.Close && !req.Close}
	return resp, nil
}

func (uc *upConn) readResponse(req *http.Request) (*http.Response, error) {
	for {
		if _, err := uc.br.Peek(1); err != nil {
			return nil, fmt.Errorf("%w: %w", errNoResponse, err)
		}
		resp, err := readResponseKeepingConnection(uc.br, req)
		if err != nil {
			return nil, fmt.Errorf("read upstream response: %w", err)
		}
		// 100 Continue and other interim responses are skipped.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		return resp, nil
	}
}

// upBody returns the connection to the pool once the body is read to its
// end, and closes it if the body is abandoned.
type upBody struct {
	uc    *upConn
	body  io.ReadCloser
	stop  func() bool
	reuse bool
	done  bool
}

func (b *upBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	if errors.Is(err, io.EOF) {
		b.finish(b.reuse)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *upBody) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

func (b *upBody) finish(reuse bool) {
	b.done = true
	// If the context's AfterFunc already ran, the deadline is poisoned.
	if !b.stop() {
		reuse = false
	}
	if reuse && b.uc.br.Buffered() == 0 {
		b.uc.t.put(b.uc)
		return
	}
	b.uc.nc.Close()
}

// upgraded is the body of a 101 response: the raw connection, with what the
// reader had buffered, as the io.ReadWriteCloser ReverseProxy splices.
type upgraded struct {
	*bufio.Reader
	net.Conn
}

func (u *upgraded) Read(p []byte) (int, error) { return u.Reader.Read(p) }

// bodyReader remembers the error of reading the client's body, which
// Request.Write does not wrap.
type bodyReader struct {
	io.ReadCloser
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// clientBodyError is a failure to read the client's request body: not the
// upstream's fault, so neither retried nor counted against its health.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "read client body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }
