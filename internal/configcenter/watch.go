package configcenter

import (
	"sync"

	"berth.dev/berth/internal/change"
)

// MaxWatchKeys bounds how many items one watcher listens to (Nacos'
// clients batch up to 3000 per listen task).
const MaxWatchKeys = 3000

// Watch wakes the clients that listen to configuration items (Nacos
// long-polls and gRPC connections) when an item changes. It hears of
// changes on the change bus (change.Config, after commit) and never
// blocks the publisher: each watcher collects the keys that changed until
// it takes them.
type Watch struct {
	mu    sync.Mutex
	byKey map[Key]map[*Watcher]struct{}
}

// NewWatch returns a watch with no watchers.
func NewWatch() *Watch { return &Watch{byKey: map[Key]map[*Watcher]struct{}{}} }

// Subscribe has w hear of every change.Config on b.
func (w *Watch) Subscribe(b *change.Bus) { b.Subscribe(w.Changed, change.Config) }

// Changed wakes the watchers of the item c names.
func (w *Watch) Changed(c change.Changed) {
	if c.Kind != change.Config {
		return
	}
	k := KeyOf(c.Key)
	w.mu.Lock()
	defer w.mu.Unlock()
	for x := range w.byKey[k] {
		x.pend(k)
	}
}

// ChangedAll wakes every watcher for every item it listens to: changes
// may have been missed (another replica's, while the connection to it was
// broken), and each client compares what it has with what is served.
func (w *Watch) ChangedAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, xs := range w.byKey {
		for x := range xs {
			x.pend(k)
		}
	}
}

// Watchers is how many watchers listen to k.
func (w *Watch) Watchers(k Key) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.byKey[k])
}

// Watcher is one client's interest in a set of items.
type Watcher struct {
	w *Watch
	// C receives a value when keys changed since the last Take.
	C       chan struct{}
	mu      sync.Mutex
	keys    map[Key]struct{}
	pending map[Key]struct{}
}

// NewWatcher returns a watcher listening to no item yet.
func (w *Watch) NewWatcher() *Watcher {
	return &Watcher{w: w, C: make(chan struct{}, 1), keys: map[Key]struct{}{}, pending: map[Key]struct{}{}}
}

// Listen adds k; it reports false when the watcher listens to
// MaxWatchKeys items already.
func (x *Watcher) Listen(k Key) bool {
	x.mu.Lock()
	if _, ok := x.keys[k]; !ok && len(x.keys) >= MaxWatchKeys {
		x.mu.Unlock()
		return false
	}
	x.keys[k] = struct{}{}
	x.mu.Unlock()
	x.w.mu.Lock()
	defer x.w.mu.Unlock()
	m := x.w.byKey[k]
	if m == nil {
		m = map[*Watcher]struct{}{}
		x.w.byKey[k] = m
	}
	m[x] = struct{}{}
	return true
}

// Unlisten removes k.
func (x *Watcher) Unlisten(k Key) {
	x.mu.Lock()
	delete(x.keys, k)
	delete(x.pending, k)
	x.mu.Unlock()
	x.w.drop(x, k)
}

// Keys returns the items x listens to (a new slice).
func (x *Watcher) Keys() []Key {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]Key, 0, len(x.keys))
	for k := range x.keys {
		out = append(out, k)
	}
	return out
}

func (x *Watcher) pend(k Key) {
	x.mu.Lock()
	x.pending[k] = struct{}{}
	x.mu.Unlock()
	select {
	case x.C <- struct{}{}:
	default:
	}
}

// Take returns the keys that changed since the last Take and forgets them.
func (x *Watcher) Take() []Key {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]Key, 0, len(x.pending))
	for k := range x.pending {
		out = append(out, k)
	}
	clear(x.pending)
	return out
}

// Close stops x listening to anything.
func (x *Watcher) Close() {
	for _, k := range x.Keys() {
		x.w.drop(x, k)
	}
}

func (w *Watch) drop(x *Watcher, k Key) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m := w.byKey[k]; m != nil {
		delete(m, x)
		if len(m) == 0 {
			delete(w.byKey, k)
		}
	}
}
