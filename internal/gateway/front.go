package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// front is the gateway's own HTTP/1.1 front end for cleartext listeners
// (ADR 0008). One goroutine per connection reads request heads into a
// pooled buffer, proxies the requests front_head.go accepts over the
// Transport's keep-alive pool, and writes the answers back without
// net/http's per-request machinery (header maps, request clones, contexts,
// the background read). Any request it does not take — HTTP/2 prior
// knowledge, chunked or Upgrade requests, Expect, odd or oversized heads —
// goes with its connection, the bytes already read replayed, to the
// net/http server, which then serves that connection to its end.
type front struct {
	g       *Gateway
	t       *Transport
	log     *slog.Logger
	opts    ServerOptions
	handoff *handoffListener
	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*fconn]struct{}
}

// Connection states, for graceful shutdown: idle connections are closed
// at once, active ones after their response.
const (
	connIdle int32 = iota
	connActive
	connClosed
)

// Buffer sizes of a client connection: a request head larger than the read
// buffer goes to net/http, which applies MaxHeaderBytes.
const (
	frontReadBuffer  = 4 << 10
	frontWriteBuffer = 4 << 10
)

var (
	frontReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, frontReadBuffer) }}
	frontWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, frontWriteBuffer) }}
)

func newFront(g *Gateway, t *Transport, log *slog.Logger, opts ServerOptions, addr net.Addr) *front {
	return &front{g: g, t: t, log: log, opts: opts, conns: map[*fconn]struct{}{},
		handoff: &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}}
}

// serve accepts connections on ln until it is closed.
func (f *front) serve(ln net.Listener) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if f.closing.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			f.log.Warn("accept failed, retrying", "err", err.Error(), "in", backoff.String())
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if c := f.track(nc); c != nil {
			go c.serve()
		}
	}
}

func (f *front) track(nc net.Conn) *fconn {
	c := &fconn{f: f, nc: nc, remote: nc.RemoteAddr().String()}
	c.ip, _, _ = net.SplitHostPort(c.remote)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing.Load() {
		nc.Close()
		return nil
	}
	f.conns[c] = struct{}{}
	return c
}

func (f *front) untrack(c *fconn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// shutdown closes idle connections until none is left, or closes every
// connection when ctx is done.
func (f *front) shutdown(ctx context.Context) error {
	f.closing.Store(true)
	tick := 10 * time.Millisecond
	for {
		if f.closeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			f.mu.Lock()
			for c := range f.conns {
				c.nc.Close()
			}
			f.mu.Unlock()
			return ctx.Err()
		case <-time.After(tick):
		}
		tick = min(2*tick, 500*time.Millisecond)
	}
}

// closeIdle closes the idle connections and returns how many are left.
func (f *front) closeIdle() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		if c.state.CompareAndSwap(connIdle, connClosed) {
			c.nc.Close()
		}
	}
	return len(f.conns)
}

// fconn is one client connection of the fast front end.
type fconn struct {
	f          *front
	nc         net.Conn
	br         *bufio.Reader
	bw         *bufio.Writer
	remote, ip string
	state      atomic.Int32
	deadline   time.Time // read deadline set last; zero: none
	src        connSource
	watch      watch
	req        reqHead
	tried      [6]string
	scratch    []byte
}

type headStatus int

const (
	headReady headStatus = iota
	headHandoff
	headClosed
)

func (c *fconn) serve() {
	c.br, c.bw = frontReaders.Get().(*bufio.Reader), frontWriters.Get().(*bufio.Writer)
	c.src.c = c
	c.br.Reset(&c.src)
	c.bw.Reset(c.nc)
	for {
		switch c.readHead() {
		case headClosed:
			c.close()
			return
		case headHandoff:
			c.handoff()
			return
		}
		if !c.state.CompareAndSwap(connIdle, connActive) {
			c.close()
			return
		}
		if !c.f.g.serveFast(c) || c.f.closing.Load() {
			_ = c.bw.Flush()
			c.close()
			return
		}
		c.state.Store(connIdle)
	}
}

// readHead reads the next request head into c.req. It flushes pending
// responses before it waits, so pipelined requests are answered in one
// write.
func (c *fconn) readHead() headStatus {
	if c.br.Buffered() == 0 {
		c.armDeadline(c.f.opts.IdleTimeout, false)
	}
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		switch n := headEnd(buf); {
		case n > 0:
			if !c.req.parse(string(buf[:n])) {
				return headHandoff
			}
			_, _ = c.br.Discard(n)
			return headReady
		case n < 0:
			return headHandoff
		}
		if c.br.Buffered() == c.br.Size() {
			return headHandoff
		}
		if c.bw.Buffered() > 0 && c.bw.Flush() != nil {
			return headClosed
		}
		if c.br.Buffered() > 0 {
			c.armDeadline(c.f.opts.ReadHeaderTimeout, true)
		}
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			return headClosed
		}
	}
}

// armDeadline sets the read deadline d from now. Waiting for a new request
// only moves it when it is stale by more than d/16 (at most a second),
// which saves a timer update per request; an exact one replaces it
// regardless.
func (c *fconn) armDeadline(d time.Duration, exact bool) {
	now := time.Now()
	at := now.Add(d)
	if !exact && !c.deadline.IsZero() && at.Sub(c.deadline) < min(time.Second, d/16) {
		return
	}
	c.deadline = at
	if exact {
		// A header deadline must not pass for the idle one next time.
		c.deadline = time.Time{}
	}
	_ = c.nc.SetReadDeadline(at)
}

// clearDeadline lifts the read deadline while a request body is read:
// bodies are bounded by the route's limits, not by the idle timeout.
func (c *fconn) clearDeadline() {
	c.deadline = time.Time{}
	_ = c.nc.SetReadDeadline(time.Time{})
}

// handoff gives the connection, with the bytes read but not yet used, to
// the net/http server.
func (c *fconn) handoff() {
	if c.bw.Buffered() > 0 && c.bw.Flush() != nil || c.f.closing.Load() {
		c.close()
		return
	}
	buffered, _ := c.br.Peek(c.br.Buffered())
	pc := &prefixConn{Conn: c.nc, prefix: append(bytes.Clone(buffered), c.src.pending...)}
	_ = c.nc.SetReadDeadline(time.Time{})
	c.release()
	c.f.untrack(c)
	c.f.g.metrics.handoffs.Inc()
	c.f.handoff.give(&headConn{Conn: pc})
}

func (c *fconn) close() {
	c.state.Store(connClosed)
	c.nc.Close()
	c.release()
	c.f.untrack(c)
}

func (c *fconn) release() {
	if c.watch.timer != nil {
		c.watch.timer.Stop()
	}
	c.br.Reset(nil)
	c.bw.Reset(nil)
	frontReaders.Put(c.br)
	frontWriters.Put(c.bw)
	c.br, c.bw = nil, nil
	c.req = reqHead{}
}

// handoffListener is the listener of the net/http server behind the fast
// front end: it accepts the connections the front end hands over.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

func (l *handoffListener) give(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

// prefixConn replays bytes already read from a connection before reading
// more from it.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
