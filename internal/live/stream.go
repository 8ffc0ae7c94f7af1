package live

import (
	"slices"
	"sync"
)

// Stream is one client's view of the hub: the events of its topics that
// its filter lets through, queued until the client takes them.
type Stream struct {
	hub    *Hub
	owner  string
	topics []Topic
	limit  int
	wake   chan struct{}
	done   chan struct{}
	ended  sync.Once

	mu    sync.Mutex
	allow func(Event) bool
	queue []Event
	// resetID is set when the client must reset its views: the ID of the
	// last event before what is queued.
	resetID string
	closed  bool
}

// offer queues e if the stream wants it; a full queue is dropped and
// replaced by a reset. It never blocks.
func (s *Stream) offer(e Event) {
	if !slices.Contains(s.topics, e.Topic) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.allow(e) {
		return
	}
	if len(s.queue) >= s.limit {
		s.queue, s.resetID = s.queue[:0], s.hub.idOf(e.seq-1)
	}
	s.queue = append(s.queue, e)
	s.signal()
}

// requestReset drops the backlog and asks the client to reload, from
// the event id on.
func (s *Stream) requestReset(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue, s.resetID = s.queue[:0], id
	s.signal()
}

func (s *Stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SetFilter replaces the filter events must pass (the caller's permissions
// changed); events already queued stay.
func (s *Stream) SetFilter(allow func(Event) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allow = allow
}

// Ready is signalled when Take has something to return.
func (s *Stream) Ready() <-chan struct{} { return s.wake }

// Take returns what is queued: when events were dropped (or the client's
// last event could not be resumed from), the ID of a reset to send first,
// after which the client reloads its views; then the events that came
// after, oldest first. The caller owns the returned slice.
func (s *Stream) Take() (resetID string, events []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resetID, events = s.resetID, s.queue
	s.resetID, s.queue = "", nil
	return resetID, events
}

// Done is closed when the hub ends the stream (the server is stopping).
func (s *Stream) Done() <-chan struct{} { return s.done }

func (s *Stream) end() { s.ended.Do(func() { close(s.done) }) }

// Close removes the stream from the hub; it may be called more than once.
func (s *Stream) Close() {
	s.hub.close(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed, s.queue = true, nil
}
