// Package change carries what committed transactions changed to whoever
// acts on it: the controllers, the gateway configuration publisher and, in
// the live event stream of the console. The domain services publish a Changed once the
// transaction that made it has committed (never before, never for a
// rollback); subscribers are registered once, when the engine is assembled.
//
// A Changed is a wake-up, not the change itself: a subscriber reads the
// object's current state from the store, so a dropped or repeated Changed
// costs a reconcile, never correctness.
package change

import (
	"fmt"
	"sync"
)

// Kind is the kind of object that changed.
type Kind uint8

// The kinds of change. Key says which object: the deployment for
// Deployment, GrayPlan, Network and Applied; the release order for Release;
// the tenant (and project) for Isolation; the record's tenant, project,
// action (as Name) and sequence number for Audit.
const (
	// Deployment: a deployment's desired state.
	Deployment Kind = iota + 1
	// GrayPlan: a gray plan, or the versions its Services serve.
	GrayPlan
	// Release: a release order's state.
	Release
	// Network: the node ports a deployment exposes.
	Network
	// Isolation: the network isolation of a tenant or project.
	Isolation
	// Applied: the controller finished applying a deployment (published by
	// the deployment controller, not by a transaction).
	Applied
	// Status: a deployment's live state in its cluster changed (published
	// by the engine from the cluster watches, coalesced, not by a
	// transaction).
	Status
	// Audit: an audit record was appended.
	Audit
	// Config: a configuration item of the config center (Key names its
	// environment, and "group/dataId" as Name) changed what its clients
	// are served.
	Config
	// Pipeline: a pipeline run (Key names its pipeline as Name and the
	// run's number as Seq) changed state.
	Pipeline
	// Alert: a project's alert rules or receivers (Key names the tenant
	// and project) changed what Prometheus and Alertmanager must load.
	Alert
	numKinds
)

var names = [numKinds]string{"", "deployment", "grayplan", "release", "network", "isolation", "applied", "status", "audit", "config", "pipeline", "alert"}

func (k Kind) String() string {
	if k == 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
	return names[k]
}

// Key names the changed object within its kind. Name is the application
// (Deployment, GrayPlan, Network, Applied) or the order's ID (Release);
// Environment is set for deployments only; Seq is the audit record's
// sequence number (Audit only).
type Key struct {
	Tenant, Project, Environment, Name string
	Seq                                int64
}

// Changed says that the object Key of Kind changed.
type Changed struct {
	Kind Kind
	Key  Key
}

// Bus delivers every published Changed to the subscribers of its kind, in
// the order they subscribed. A nil *Bus accepts and drops everything, for
// platforms that nothing acts on (offline commands, tests of other things).
type Bus struct {
	mu   sync.RWMutex
	subs [numKinds][]func(Changed)
	// relays hear every Changed published here, of every kind, but none
	// delivered from elsewhere (Deliver): they carry this process's changes
	// to the other replicas (Relay).
	relays []func(Changed)
}

// NewBus returns a bus with no subscribers.
func NewBus() *Bus { return &Bus{} }

// Subscribe has f called with every Changed of the given kinds. f runs on
// the publisher's goroutine, right after a commit: it must not block (hand
// the work to a queue) unless the publisher is meant to wait for it, as an
// API answer waits for the gateway configuration to be published.
func (b *Bus) Subscribe(f func(Changed), kinds ...Kind) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range kinds {
		if k == 0 || k >= numKinds {
			panic(fmt.Sprintf("change: subscribe to unknown %v", k))
		}
		b.subs[k] = append(b.subs[k], f)
	}
}

// Publish hands c to the subscribers of its kind, then to the relays.
func (b *Bus) Publish(c Changed) {
	if b == nil || c.Kind == 0 || c.Kind >= numKinds {
		return
	}
	b.Deliver(c)
	b.mu.RLock()
	relays := b.relays
	b.mu.RUnlock()
	for _, f := range relays {
		f(c)
	}
}

// Deliver hands c to the subscribers of its kind but not to the relays:
// it is how a Changed another replica committed reaches this one's
// subscribers without being sent back.
func (b *Bus) Deliver(c Changed) {
	if b == nil || c.Kind == 0 || c.Kind >= numKinds {
		return
	}
	b.mu.RLock()
	subs := b.subs[c.Kind]
	b.mu.RUnlock()
	for _, f := range subs {
		f(c)
	}
}

// OnPublish has f called with every Changed published on b (not those
// delivered with Deliver), after its subscribers; like a subscriber, f
// must not block.
func (b *Bus) OnPublish(f func(Changed)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.relays = append(b.relays, f)
}

// Committer runs functions once the current transaction has committed;
// every transaction-bound store implements it.
type Committer interface {
	AfterCommit(f func())
}

// AfterCommit publishes c on b once tx has committed.
func (b *Bus) AfterCommit(tx Committer, c Changed) {
	if b == nil {
		return
	}
	tx.AfterCommit(func() { b.Publish(c) })
}
