package live

import (
	"context"
	"sync"
	"time"

	"berth.dev/berth/internal/change"
)

// Coalescer turns bursts of one kind of change into at most one publication
// per key per flush: the cluster watches report an application's pods many
// times a second while it rolls, and the console needs to hear of it once.
type Coalescer struct {
	kind    change.Kind
	publish func(change.Changed)

	mu      sync.Mutex
	pending map[change.Key]struct{}
	order   []change.Key
}

// NewCoalescer returns a coalescer that publishes changes of kind through
// publish (which must not block).
func NewCoalescer(kind change.Kind, publish func(change.Changed)) *Coalescer {
	return &Coalescer{kind: kind, publish: publish, pending: map[change.Key]struct{}{}}
}

// Add notes that k changed; it is published at the next Flush, once
// however often it was added.
func (c *Coalescer) Add(k change.Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pending[k]; ok {
		return
	}
	c.pending[k] = struct{}{}
	c.order = append(c.order, k)
}

// Flush publishes every key added since the last Flush, in the order they
// were first added.
func (c *Coalescer) Flush() {
	c.mu.Lock()
	keys := c.order
	c.order = nil
	clear(c.pending)
	c.mu.Unlock()
	for _, k := range keys {
		c.publish(change.Changed{Kind: c.kind, Key: k})
	}
}

// Run flushes every interval until ctx ends.
func (c *Coalescer) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Flush()
		}
	}
}
