package api

import "sync"

// slots counts what callers hold open (interactive terminals, parked
// Nacos long-polls), bounded per user and in all. Set perUser and max
// before use; it is safe for concurrent use.
type slots struct {
	perUser, max int

	mu     sync.Mutex
	byUser map[string]int
	total  int
}

// take holds one slot for user, or reports false when user or everyone
// holds as many as allowed.
func (s *slots) take(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byUser == nil {
		s.byUser = map[string]int{}
	}
	if s.byUser[user] >= s.perUser || s.total >= s.max {
		return false
	}
	s.byUser[user]++
	s.total++
	return true
}

// give frees a slot take held for user.
func (s *slots) give(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byUser[user]--
	if s.byUser[user] <= 0 {
		delete(s.byUser, user)
	}
	s.total--
}
