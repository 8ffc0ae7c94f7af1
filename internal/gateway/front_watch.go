package gateway

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// The fast front end reads a client connection only when it expects a
// request, so a client that goes away while the upstream is still working
// would go unnoticed until the answer is written. When an upstream takes
// longer than watchDelay to answer, a watcher reads ahead on the client
// connection (as net/http's background read does): end of stream means the
// client is gone, and the upstream exchange is cut short (499, the upstream
// connection closed); a byte of a pipelined request is kept for the next
// read.

// watchDelay is how long an upstream may take before the client is watched.
const watchDelay = 100 * time.Millisecond

// errClientGone is the upstream exchange cut short because the client left.
var errClientGone = errors.New("client went away")

// watch is the client-gone watcher of one connection, reused per request.
type watch struct {
	timer     *time.Timer
	fired     chan struct{} // one value per firing of timer, when it is done
	mu        sync.Mutex
	cancelled bool
	reading   bool
	up        atomic.Pointer[upConn]
	gone      atomic.Bool
}

// connSource is what a client connection's reader reads: the byte the
// watcher read ahead, if any, then the connection.
type connSource struct {
	c       *fconn
	pending []byte
	buf     [1]byte
}

func (s *connSource) Read(p []byte) (int, error) {
	if len(s.pending) > 0 {
		n := copy(p, s.pending)
		s.pending = s.pending[n:]
		return n, nil
	}
	return s.c.nc.Read(p)
}

// startWatch arms the watcher for the exchange on uc.
func (c *fconn) startWatch(uc *upConn) {
	w := &c.watch
	w.up.Store(uc)
	if w.timer == nil {
		w.fired = make(chan struct{}, 1)
		w.timer = time.AfterFunc(watchDelay, c.watchClient)
		return
	}
	w.timer.Reset(watchDelay)
}

// stopWatch disarms the watcher, waiting for a read ahead to end, and
// reports whether the client went away meanwhile.
func (c *fconn) stopWatch() (gone bool) {
	w := &c.watch
	if w.timer.Stop() {
		return false
	}
	w.mu.Lock()
	w.cancelled = true
	if w.reading {
		_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	}
	w.mu.Unlock()
	<-w.fired
	w.mu.Lock()
	w.cancelled, w.reading = false, false
	w.mu.Unlock()
	// The read ahead may have poisoned the read deadline: set it afresh.
	c.deadline = time.Time{}
	c.armDeadline(c.f.opts.IdleTimeout, false)
	return w.gone.Swap(false)
}

// watchClient runs when the timer fires: it reads ahead on the client
// connection until data, end of stream or stopWatch.
func (c *fconn) watchClient() {
	w := &c.watch
	defer func() { w.fired <- struct{}{} }()
	w.mu.Lock()
	if w.cancelled {
		w.mu.Unlock()
		return
	}
	w.reading = true
	w.mu.Unlock()
	n, err := c.nc.Read(c.src.buf[:])
	if n > 0 {
		c.src.pending = c.src.buf[:n]
		return
	}
	if err != nil && !isTimeout(err) {
		w.gone.Store(true)
		if uc := w.up.Load(); uc != nil {
			_ = uc.nc.SetDeadline(time.Unix(1, 0))
		}
	}
}
