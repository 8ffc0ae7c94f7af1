package live

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"berth.dev/berth/internal/change"
)

// Defaults of Options.
const (
	DefaultRing         = 4096
	DefaultStreamBuffer = 512
	DefaultMaxStreams   = 1000
	DefaultPerOwner     = 4
)

// Errors of Open.
var (
	// ErrTooManyStreams: the owner already has MaxPerOwner streams open.
	ErrTooManyStreams = errors.New("too many live streams open for this user")
	// ErrFull: the hub carries MaxStreams streams.
	ErrFull = errors.New("the hub carries as many live streams as it may")
	// ErrClosed: the hub was closed (the server is stopping).
	ErrClosed = errors.New("the live hub is closed")
)

// Options bound a Hub; zero values take the defaults.
type Options struct {
	// Ring is how many recent events are kept for resuming streams.
	Ring int
	// StreamBuffer is how many events a stream may have waiting; past it
	// the stream's backlog is dropped and the stream is told to reset.
	StreamBuffer int
	// MaxStreams bounds the streams open at once; MaxPerOwner bounds those
	// of one owner (one user).
	MaxStreams, MaxPerOwner int
}

// Hub numbers the changes it hears and hands them to the open streams.
// It is safe for concurrent use; Publish never blocks on a stream.
type Hub struct {
	o    Options
	boot string

	mu      sync.Mutex
	seq     uint64
	ring    []Event // circular: the last len(ring) events, oldest at next when full
	next    int
	full    bool
	streams map[*Stream]struct{}
	owners  map[string]int
	closed  bool
}

// NewHub returns a hub with no streams; its boot ID is random, so the IDs
// of one process are never taken for another's.
func NewHub(o Options) *Hub {
	o.Ring = orDefault(o.Ring, DefaultRing)
	o.StreamBuffer = orDefault(o.StreamBuffer, DefaultStreamBuffer)
	o.MaxStreams = orDefault(o.MaxStreams, DefaultMaxStreams)
	o.MaxPerOwner = orDefault(o.MaxPerOwner, DefaultPerOwner)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &Hub{o: o, boot: hex.EncodeToString(b), ring: make([]Event, o.Ring),
		streams: map[*Stream]struct{}{}, owners: map[string]int{}}
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// Subscribe has the hub hear every kind of change it streams on b.
func (h *Hub) Subscribe(b *change.Bus) { b.Subscribe(h.Publish, Kinds()...) }

// Publish numbers c's event, keeps it in the ring and queues it on every
// open stream that wants it. Changes of kinds not streamed are ignored.
func (h *Hub) Publish(c change.Changed) {
	e, ok := eventOf(c)
	if !ok {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	e.seq = h.seq
	e.ID = h.idOf(h.seq)
	h.ring[h.next] = e
	h.next = (h.next + 1) % len(h.ring)
	h.full = h.full || h.next == 0
	for s := range h.streams {
		s.offer(e)
	}
}

// Reset asks the client of every open stream to reload: changes may have
// been missed (another replica's, while the connection to it was broken).
func (h *Hub) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.streams {
		s.requestReset(h.idOf(h.seq))
	}
}

// Open opens a stream for owner of the given topics, whose events pass
// allow (called on the publisher's goroutine: it must be quick and must
// not block). lastID is the ID of the last event the client saw ("" for
// none): the events after it still in the ring are queued first; when it
// is not one of this hub's recent IDs the stream starts with a reset.
// Close the stream when done.
func (h *Hub) Open(owner string, topics []Topic, allow func(Event) bool, lastID string) (*Stream, error) {
	s := &Stream{hub: h, owner: owner, topics: slices.Clone(topics), allow: allow,
		limit: h.o.StreamBuffer, wake: make(chan struct{}, 1), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrClosed
	case h.owners[owner] >= h.o.MaxPerOwner:
		return nil, ErrTooManyStreams
	case len(h.streams) >= h.o.MaxStreams:
		return nil, ErrFull
	}
	h.owners[owner]++
	h.streams[s] = struct{}{}
	if lastID != "" {
		h.replay(s, lastID)
	}
	return s, nil
}

// replay queues on s the events after lastID, or a reset when lastID is
// not one the ring can resume from. h.mu is held.
func (h *Hub) replay(s *Stream, lastID string) {
	boot, num, _ := strings.Cut(lastID, "-")
	seq, err := strconv.ParseUint(num, 10, 64)
	if boot != h.boot || err != nil || seq > h.seq || seq+1 < h.oldest() {
		s.requestReset(h.idOf(h.seq))
		return
	}
	for _, e := range h.since(seq) {
		s.offer(e)
	}
}

// idOf is the ID of the event numbered seq.
func (h *Hub) idOf(seq uint64) string { return h.boot + "-" + strconv.FormatUint(seq, 10) }

// oldest is the seq of the oldest event in the ring (h.seq+1 when empty).
func (h *Hub) oldest() uint64 {
	if h.full {
		return h.seq - uint64(len(h.ring)) + 1
	}
	return 1
}

// since returns the ring's events after seq, oldest first.
func (h *Hub) since(seq uint64) []Event {
	n := int(h.seq - seq)
	out := make([]Event, 0, n)
	for i := n; i > 0; i-- {
		out = append(out, h.ring[(h.next-i+len(h.ring))%len(h.ring)])
	}
	return out
}

func (h *Hub) close(s *Stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.streams[s]; !ok {
		return
	}
	delete(h.streams, s)
	if h.owners[s.owner]--; h.owners[s.owner] <= 0 {
		delete(h.owners, s.owner)
	}
}

// Close ends every open stream (their Done channels close) and refuses new
// ones: the server is stopping, and its streams must not hold the drain.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.streams {
		s.end()
	}
}

// Streams reports how many streams are open.
func (h *Hub) Streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.streams)
}
