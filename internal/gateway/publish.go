package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"berth.dev/berth/internal/resource"
)

// The configuration stream is Server-Sent Events (text/event-stream); ":
// ping" comments every Heartbeat keep idle proxies from closing it and let
// the subscriber notice a dead server. SSE was chosen over long-polling
// because it is one request for the stream's life, is plain HTTP through
// any proxy, and the framing is trivial to parse with a bound
// (docs/gateway.md).
//
// Version 2 (a request with StreamHeader: 2, docs/adr/0022) carries
// changes: a "snapshot" event with every unit of the configuration on
// connect, then one "delta" event per publication naming the
// configuration it applies to (base), the units it puts and the apps it
// deletes; the id of both is the configuration's name (digest). Version 1
// (no header: gateways older than ADR 0022) carries one "config" event
// with the whole configuration per publication, under the same id.

// StreamHeader on a stream request asks for the stream's version 2;
// without it the server speaks version 1.
const StreamHeader = "X-Berth-Gateway-Stream"

// Publisher is the http.Handler the Berth server mounts for gateways to
// watch. Every subscriber gets the current configuration at once, then each
// change. It is safe for concurrent use.
type Publisher struct {
	// Heartbeat is the interval of keep-alive comments. Default 15s.
	Heartbeat time.Duration

	// AckWait bounds how long Delivered waits for a connected gateway that
	// does not report the current configuration applied. Default 10s.
	AckWait time.Duration

	mu      sync.Mutex
	units   map[string]*encodedUnit // by app name
	owner   map[string]string       // route name → app name
	dig     digest
	gen     uint64 // of the last Set, to mark the units it names
	id      string // "" before the first publication
	since   time.Time
	deltas  []delta       // the latest publications, oldest first, consecutive
	size    int           // bytes of deltas
	full    [2][]byte     // rendered events of id (version 1, version 2), nil until asked for
	changed chan struct{} // closed and replaced on every publication
	// subs are the connected subscribers that report what they apply
	// (header SubscriberHeader), by subscriber ID: how many streams each
	// holds open and the configuration ID it last reported applied.
	subs map[string]*subscription

	// With a Ledger (Share), the subscribers whose rows are to be written
	// again, and a wake-up for RunLedger.
	ledger  Ledger
	replica string
	dirty   map[string]bool
	wrote   chan struct{}
}

// delta is one publication as a version 2 event.
type delta struct {
	base, id string
	event    []byte
}

// The publications kept for subscribers that are behind (or reconnect)
// to catch up by deltas; one further behind gets a snapshot.
const (
	keepDeltas     = 64
	keepDeltaBytes = MaxConfigBytes
)

type subscription struct {
	streams int
	applied string
	// behind is when the subscriber fell behind: the first publication (or
	// its connection) since it last reported the current configuration
	// applied. Zero while it is current. AckWait counts from here, so a
	// stream of new publications does not keep a stuck gateway waited for.
	behind time.Time
}

// SubscriberHeader names, on a stream request, the subscriber that will
// report each configuration it applies (Publisher.Applied). A gateway
// without it is not waited for.
const SubscriberHeader = "X-Berth-Gateway-Subscriber"

// MaxSubscribers bounds the subscribers a publisher tracks; streams past it
// are served but not waited for.
const MaxSubscribers = 1024

// NewPublisher returns a publisher with no configuration yet: subscribers
// wait for the first.
func NewPublisher() *Publisher {
	return &Publisher{Heartbeat: 15 * time.Second, AckWait: 10 * time.Second, changed: make(chan struct{}),
		subs: map[string]*subscription{}, units: map[string]*encodedUnit{}, owner: map[string]string{}}
}

// Publish validates cfg and, if it differs from the current one, sends
// the change to every subscriber. It encodes every unit of cfg; Set
// encodes only those that changed.
func (p *Publisher) Publish(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return p.Set(cfg.Units())
}

// Set makes units the configuration (in app name order, whatever their
// order here) and sends what changed to every subscriber; nothing changed
// is a no-op. A unit that is the very pointer last published is taken as
// unchanged without being looked at, so the work is proportional to the
// units that changed: the caller must not modify a Unit once published.
// A changed unit is validated on its own and route names across units;
// on error nothing is published. Set keeps units' pointers, not the
// slice.
func (p *Publisher) Set(units []*Unit) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	var put []*encodedUnit
	var errs []*resource.FieldError
	kept, fresh := 0, map[string]bool{}
	for _, u := range units {
		name := u.App.Name
		old, ok := p.units[name]
		if fresh[name] || ok && old.seen == p.gen {
			errs = append(errs, &resource.FieldError{Path: fmt.Sprintf("units[%q]", name), Reason: "duplicate app"})
			continue
		}
		if ok {
			kept++
			old.seen = p.gen
			if old.src == u {
				continue
			}
		} else {
			fresh[name] = true
		}
		e, err := encodeUnit(u)
		if err != nil {
			return err
		}
		if ok && bytes.Equal(e.data, old.data) {
			old.src = u
			continue
		}
		errs = append(errs, u.validate()...)
		put = append(put, e)
	}
	var del []string
	if kept < len(p.units) {
		for name, e := range p.units {
			if e.seen != p.gen {
				del = append(del, name)
			}
		}
		slices.Sort(del)
	}
	if len(put) == 0 && len(del) == 0 && len(errs) == 0 && p.id != "" {
		return nil
	}
	errs = append(errs, checkRouteNames(p.owner, p.unitsOf(put, del), sources(put))...)
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return p.commit(put, del)
}

// unitsOf returns the units put replaces and those del names.
func (p *Publisher) unitsOf(put []*encodedUnit, del []string) []*Unit {
	var out []*Unit
	for _, e := range put {
		if old, ok := p.units[e.src.App.Name]; ok {
			out = append(out, old.src)
		}
	}
	for _, name := range del {
		out = append(out, p.units[name].src)
	}
	return out
}

// commit makes put and the deletion of del the current configuration;
// p.mu is held.
func (p *Publisher) commit(put []*encodedUnit, del []string) error {
	var removed, added [][32]byte
	for _, e := range put {
		if old, ok := p.units[e.src.App.Name]; ok {
			removed = append(removed, old.hash)
		}
		added = append(added, e.hash)
	}
	for _, name := range del {
		removed = append(removed, p.units[name].hash)
	}
	id, commitDigest := p.dig.with(removed, added)
	base := p.id
	replaced := p.unitsOf(put, del)
	commitDigest()
	releaseRouteNames(p.owner, replaced)
	for _, name := range del {
		delete(p.units, name)
	}
	for _, e := range put {
		e.seen = p.gen
		p.units[e.src.App.Name] = e
	}
	claimRouteNames(p.owner, sources(put))
	p.id, p.since, p.full = id, time.Now(), [2][]byte{}
	if base != "" { // subscribers with nothing yet get a snapshot
		p.keep(delta{base: base, id: id, event: deltaEvent(base, id, put, del)})
	}
	for _, s := range p.subs {
		if s.behind.IsZero() {
			s.behind = p.since
		}
	}
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

// keep adds d to the deltas kept, dropping the oldest beyond the bounds.
func (p *Publisher) keep(d delta) {
	p.deltas = append(p.deltas, d)
	p.size += len(d.event)
	for len(p.deltas) > keepDeltas || p.size > keepDeltaBytes {
		p.size -= len(p.deltas[0].event)
		p.deltas[0] = delta{}
		p.deltas = p.deltas[1:]
	}
}

func deltaEvent(base, id string, put []*encodedUnit, del []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "event: delta\nid: %s\ndata: {\"base\":%q,\"units\":[", id, base)
	for i, e := range put {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e.data)
	}
	names, _ := json.Marshal(del) // strings: cannot fail
	if del == nil {
		names = []byte("[]")
	}
	fmt.Fprintf(&b, "],\"delete\":%s}\n\n", names)
	return b.Bytes()
}

// Current returns the JSON of the current configuration (apps in name
// order, routes in the order of their apps), nil before the first
// publication. The caller must not modify it.
func (p *Publisher) Current() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id == "" {
		return nil
	}
	ev := p.rendered(1)
	return ev[bytes.Index(ev, []byte("data: "))+len("data: ") : len(ev)-2]
}

// rendered returns the event carrying the whole current configuration
// for stream version v, rendering it from the units' JSON the first time
// it is asked for; p.mu is held.
func (p *Publisher) rendered(v int) []byte {
	if ev := p.full[v-1]; ev != nil {
		return ev
	}
	names := slices.Sorted(maps.Keys(p.units))
	var b bytes.Buffer
	if v == 1 {
		fmt.Fprintf(&b, "event: config\nid: %s\ndata: {\"routes\":[", p.id)
		sep := ""
		for _, n := range names {
			if r := p.units[n].routes; len(r) > 0 {
				b.WriteString(sep)
				b.Write(r)
				sep = ","
			}
		}
		b.WriteString(`],"apps":[`)
		for i, n := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(p.units[n].app)
		}
		b.WriteString("]}\n\n")
	} else {
		fmt.Fprintf(&b, "event: snapshot\nid: %s\ndata: {\"units\":[", p.id)
		for i, n := range names {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(p.units[n].data)
		}
		b.WriteString("]}\n\n")
	}
	p.full[v-1] = b.Bytes()
	return p.full[v-1]
}

// next returns the events that bring a subscriber of stream version v
// from configuration sent to the current one (none if it has it), the
// current ID, and a channel closed at the next publication.
func (p *Publisher) next(sent string, v int) ([][]byte, string, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id == "" || p.id == sent {
		return nil, sent, p.changed
	}
	if v == 2 && sent != "" {
		if i := slices.IndexFunc(p.deltas, func(d delta) bool { return d.base == sent }); i >= 0 {
			events := make([][]byte, 0, len(p.deltas)-i)
			for _, d := range p.deltas[i:] {
				events = append(events, d.event)
			}
			return events, p.id, p.changed
		}
	}
	return [][]byte{p.rendered(v)}, p.id, p.changed
}

// Applied records that subscriber sub has applied configuration id. An
// unknown subscriber (not streaming now) is ignored.
func (p *Publisher) Applied(sub, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.subs[sub]; ok {
		if s.applied != id {
			p.markLocked(sub)
		}
		s.applied = id
		if id == p.id {
			s.behind = time.Time{}
		}
	}
}

// Delivered reports whether the current configuration is in force at every
// connected subscriber that reports what it applies, except those that have
// been behind for AckWait or longer (a stuck gateway does not stop the
// platform; it is the gateway's operators' alarm). It is what lets the gray plan controller
// remove a version's pods only once no gateway routes to them. With a
// Ledger (Share) the subscribers of the other replicas count too: those
// seen within LedgerLive, until AckWait after the configuration became
// current here.
func (p *Publisher) Delivered() bool {
	p.mu.Lock()
	if p.id == "" {
		p.mu.Unlock()
		return true
	}
	for _, s := range p.subs {
		if s.applied != p.id && time.Since(s.behind) < p.AckWait {
			p.mu.Unlock()
			return false
		}
	}
	l, replica, id, since := p.ledger, p.replica, p.id, p.since
	p.mu.Unlock()
	return p.othersDelivered(l, replica, id, since)
}

// subscribe counts one more stream of sub; the returned function ends it.
func (p *Publisher) subscribe(sub string) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.subs[sub]
	if !ok {
		if len(p.subs) >= MaxSubscribers {
			return func() {}
		}
		s = &subscription{behind: time.Now()}
		p.subs[sub] = s
		p.markLocked(sub)
	}
	s.streams++
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if s.streams--; s.streams == 0 {
			delete(p.subs, sub)
			p.markLocked(sub)
		}
	}
}

// ServeHTTP streams configurations until the client goes away; a POST
// (to URL+"/applied" when mounted alone) is a subscriber's AppliedReport.
func (p *Publisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var v AppliedReport
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&v); err != nil {
			http.Error(w, "bad applied report", http.StatusBadRequest)
			return
		}
		p.Applied(v.Subscriber, v.ID)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	version := 1
	switch r.Header.Get(StreamHeader) {
	case "", "1":
	case "2":
		version = 2
	default:
		http.Error(w, "unknown configuration stream version "+r.Header.Get(StreamHeader)+" (this server speaks 1 and 2)", http.StatusBadRequest)
		return
	}
	if sub := r.Header.Get(SubscriberHeader); sub != "" && len(sub) <= 64 {
		defer p.subscribe(sub)()
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	h.Set(StreamHeader, fmt.Sprint(version))
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	tick := time.NewTicker(p.Heartbeat)
	defer tick.Stop()
	sent := r.Header.Get("Last-Event-ID")
	for {
		events, id, changed := p.next(sent, version)
		for _, ev := range events {
			if _, err := w.Write(ev); err != nil {
				return
			}
		}
		sent = id
		if rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-tick.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
		}
	}
}
