package configcenter

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"berth.dev/berth/internal/resource"
)

// A change wakes every client listening to an item at once, and each asks
// for the new content (the SDKs query before calling their listeners): on
// an item five hundred clients listen to, five hundred database reads of
// the same row. The cache serves those from one read.
//
// Correctness rests on generations: a read's result is kept only if no
// change of its item was announced between the moment just before the
// read transaction began and the end of the read, so a read that began
// before a commit and ended after it never leaves the older content
// behind. Changes drop their item when they commit, before any watcher
// is woken (see Service.announce). Changes made by another process (a
// second replica, until #22's change feed; an offline command) are not
// heard: an entry lives at most cacheTTL, which bounds how stale such a
// read can be. Secret items are never kept: their plaintext lives only as
// long as a request.
const (
	cacheTTL      = 2 * time.Second
	cacheMaxBytes = 32 << 20
	cacheStripes  = 256
)

type cached struct {
	it Item
	at time.Time
}

type cache struct {
	seed  maphash.Seed
	mu    sync.Mutex
	gens  [cacheStripes]uint64
	items map[Key]cached
	bytes int
}

func newCache() *cache { return &cache{seed: maphash.MakeSeed(), items: map[Key]cached{}} }

func (c *cache) stripe(k Key) int {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(k.Tenant)
	h.WriteByte(0)
	h.WriteString(k.Project)
	h.WriteByte(0)
	h.WriteString(k.Environment)
	h.WriteByte(0)
	h.WriteString(k.Group)
	h.WriteByte(0)
	h.WriteString(k.DataID)
	return int(h.Sum64() % cacheStripes)
}

// gen is the generation of k's stripe, read before a read transaction.
func (c *cache) gen(k Key) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[c.stripe(k)]
}

func (c *cache) get(k Key, now time.Time) (Item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok || now.Sub(e.at) >= cacheTTL || now.Before(e.at) {
		return Item{}, false
	}
	return e.it, true
}

// put keeps it, read after gen returned g, unless k changed since.
func (c *cache) put(k Key, g uint64, it Item, now time.Time) {
	if it.Secret {
		return
	}
	size := itemSize(it)
	if size > cacheMaxBytes/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[c.stripe(k)] != g {
		return
	}
	c.remove(k)
	for old := range c.items { // evict arbitrary entries (map order) to make room
		if c.bytes+size <= cacheMaxBytes {
			break
		}
		c.remove(old)
	}
	c.items[k] = cached{it: it, at: now}
	c.bytes += size
}

// drop forgets k and fails the reads of its stripe in flight.
func (c *cache) drop(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[c.stripe(k)]++
	c.remove(k)
}

func (c *cache) remove(k Key) {
	if e, ok := c.items[k]; ok {
		c.bytes -= itemSize(e.it)
		delete(c.items, k)
	}
}

func itemSize(it Item) int {
	n := len(it.Content) + len(it.MD5) + 256
	if it.Gray != nil {
		n += len(it.Gray.Content) + len(it.Gray.MD5)
	}
	return n
}

// Forget drops k from the cache as a committed change of k does.
func (s *Service) Forget(k Key) { s.cache.drop(k) }

// ServeAll returns what client c is served of each key, in order (a zero
// Served, Revision 0, for an item that does not exist). It reads from
// memory what a recent read holds and the rest in one transaction that
// view begins after the call; view must run f in a new read transaction.
func (s *Service) ServeAll(ctx context.Context, view func(f func(Store) error) error, keys []Key, c Client) ([]Served, error) {
	out := make([]Served, len(keys))
	now := s.clock.Now()
	var miss []int
	for i, k := range keys {
		if it, ok := s.cache.get(k, now); ok {
			out[i] = serve(it, c)
			continue
		}
		miss = append(miss, i)
	}
	if len(miss) == 0 {
		return out, nil
	}
	gens := make([]uint64, len(miss))
	for j, i := range miss {
		gens[j] = s.cache.gen(keys[i])
	}
	items := make([]Item, len(miss))
	err := view(func(st Store) error {
		for j, i := range miss {
			it, err := s.Get(ctx, st, keys[i])
			switch {
			case errors.Is(err, resource.ErrNotFound):
			case err != nil:
				return err
			default:
				items[j] = it
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	now = s.clock.Now()
	for j, i := range miss {
		if items[j].Revision == 0 {
			continue
		}
		s.cache.put(keys[i], gens[j], items[j], now)
		out[i] = serve(items[j], c)
	}
	return out, nil
}

func serve(it Item, c Client) Served {
	if it.Gray != nil && it.Gray.Cohort.Includes(c) {
		return Served{Type: it.Type, Revision: it.Gray.Revision, MD5: it.Gray.MD5, Content: it.Gray.Content, Gray: true, Secret: it.Secret}
	}
	return Served{Type: it.Type, Revision: it.Revision, MD5: it.MD5, Content: it.Content, Secret: it.Secret}
}
