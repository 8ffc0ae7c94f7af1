package gateway

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Resolver gives the ready endpoints of a Kubernetes Service port; the
// gateway asks it on every pick, so it must answer from memory without
// blocking. internal/kube's EndpointSlice watcher implements it.
type Resolver interface {
	// Endpoints returns the ready addresses (host:port) of the port named
	// or numbered port of Service namespace/name. The caller does not keep
	// the slice beyond the call and does not modify it.
	Endpoints(namespace, name, port string) []string
}

// Selector picks the endpoint for one attempt of a request to a version,
// avoiding the addresses already tried when it can.
type Selector interface {
	Pick(tried []string) (*Endpoint, bool)
	// Report records the outcome of an attempt on ep for passive health.
	Report(ep *Endpoint, ok bool)
}

// Endpoint is one upstream address with its passive-health state, shared by
// every configuration that names the address.
type Endpoint struct {
	Addr         string
	fails        atomic.Int32
	ejectedUntil atomic.Int64 // unix nanoseconds
}

func (e *Endpoint) ejected(now int64) bool { return e.ejectedUntil.Load() > now }

// endpoints is the process-wide registry of Endpoints by address, so that
// health survives configuration swaps.
type endpoints struct{ m sync.Map }

func (r *endpoints) get(addr string) *Endpoint {
	if e, ok := r.m.Load(addr); ok {
		return e.(*Endpoint)
	}
	e, _ := r.m.LoadOrStore(addr, &Endpoint{Addr: addr})
	return e.(*Endpoint)
}

// pool is the Selector of one version: round robin over healthy endpoints;
// when every endpoint is ejected it uses them anyway (Envoy's panic mode),
// since refusing all traffic is worse than trying.
type pool struct {
	static   []*Endpoint // nil when resolved
	service  *ServiceRef
	resolver Resolver
	reg      *endpoints
	next     atomic.Uint32
	health   Health
	now      func() time.Time
	log      *slog.Logger
	ejectCtr func()
}

var _ Selector = (*pool)(nil)

func (p *pool) candidates() []*Endpoint {
	if p.service == nil {
		return p.static
	}
	addrs := p.resolver.Endpoints(p.service.Namespace, p.service.Name, p.service.Port)
	eps := make([]*Endpoint, len(addrs))
	for i, a := range addrs {
		eps[i] = p.reg.get(a)
	}
	return eps
}

func (p *pool) Pick(tried []string) (*Endpoint, bool) {
	eps := p.candidates()
	n := len(eps)
	if n == 0 {
		return nil, false
	}
	start := int(p.next.Add(1) - 1)
	now := p.now().UnixNano()
	var fallback *Endpoint
	for i := range n {
		e := eps[(start+i)%n]
		if contains(tried, e.Addr) {
			continue
		}
		if !e.ejected(now) {
			return e, true
		}
		if fallback == nil {
			fallback = e
		}
	}
	if fallback != nil {
		return fallback, true
	}
	return eps[start%n], true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (p *pool) Report(e *Endpoint, ok bool) {
	if ok {
		if e.fails.Load() != 0 {
			e.fails.Store(0)
		}
		return
	}
	if p.health.ConsecutiveFailures <= 0 {
		return
	}
	if e.fails.Add(1) < int32(p.health.ConsecutiveFailures) {
		return
	}
	e.fails.Store(0)
	e.ejectedUntil.Store(p.now().Add(p.health.EjectFor.Duration).UnixNano())
	p.ejectCtr()
	p.log.Warn("upstream endpoint ejected", "addr", e.Addr, "for", p.health.EjectFor.String())
}
