package breaker

import (
	"strings"
	"sync"
	"time"
)

// MaxKeys bounds the breakers of one Set; header values first seen after
// that share one overflow breaker.
const MaxKeys = 10_000

// Set holds one breaker per value of a header (e.g. one per branch), or a
// single breaker when the header is "". It is safe for concurrent use.
type Set struct {
	s        Settings
	header   string
	now      func() time.Time
	single   *Breaker
	mu       sync.Mutex
	m        map[string]*Breaker
	overflow *Breaker
}

// Headers is what a Set needs of a request.
type Headers interface {
	Get(name string) string
}

// NewSet returns a set keyed by header ("" for a single breaker).
func NewSet(s Settings, header string, now func() time.Time) *Set {
	set := &Set{s: s, header: header, now: now}
	if header == "" {
		set.single = New(s, now)
		return set
	}
	set.m = map[string]*Breaker{}
	set.overflow = New(s, now)
	return set
}

// For returns the breaker for a request with headers h.
func (s *Set) For(h Headers) *Breaker {
	if s.single != nil {
		return s.single
	}
	key := h.Get(s.header)
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.m[key]; ok {
		return b
	}
	if len(s.m) >= MaxKeys {
		return s.overflow
	}
	b := New(s.s, s.now)
	// A copy: key may be a substring of a whole request head.
	s.m[strings.Clone(key)] = b
	return b
}
