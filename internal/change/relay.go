package change

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// Relay carries the changes one replica publishes on its bus to the other
// replicas sharing its database, and theirs to its bus: several `berth
// server` processes then wake the same controllers, live views and
// gateway streams whichever of them committed the change. How the payloads
// travel (PostgreSQL NOTIFY) is the caller's: Relay only batches, encodes
// and decodes.
//
// What travels is still a wake-up: a payload lost on the way (a broken
// connection, a full queue) costs a reconcile. When one may have been lost
// the replicas are told to look at everything again (the resync function).
type Relay struct {
	bus    *Bus
	origin string
	send   func(ctx context.Context, payloads []string) error
	resync func()
	log    *slog.Logger
	queue  chan Changed
	// lost is set when a Changed could not be queued or sent: the next
	// batch asks every replica to resync.
	lost atomic.Bool
}

// MaxPayload bounds one encoded batch, below PostgreSQL's 8000-byte limit
// of a NOTIFY payload.
const MaxPayload = 7900

// relayQueue bounds the changes waiting to be sent.
const relayQueue = 8192

// NewRelay returns a relay of b's published changes through send; resync
// is called when this replica may have missed another's changes (a batch
// says so, or the caller reports a lost connection with Resync). It
// subscribes to b at once; nothing is sent until Run.
func NewRelay(b *Bus, send func(ctx context.Context, payloads []string) error, resync func(), log *slog.Logger) *Relay {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	r := &Relay{bus: b, origin: hex.EncodeToString(id), send: send, resync: resync, log: log,
		queue: make(chan Changed, relayQueue)}
	b.OnPublish(r.offer)
	return r
}

func (r *Relay) offer(c Changed) {
	select {
	case r.queue <- c:
	default:
		r.lost.Store(true)
	}
}

// Run sends the queued changes, batched, until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	for {
		var batch []Changed
		select {
		case <-ctx.Done():
			return
		case c := <-r.queue:
			batch = append(batch, c)
		}
	drain:
		for len(batch) < relayQueue {
			select {
			case c := <-r.queue:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		payloads := r.encode(batch)
		if err := r.send(ctx, payloads); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.lost.Store(true)
			r.log.Warn("relay changes to the other replicas", "count", len(batch), "err", err)
			select { // the database is away: do not spin
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}
}

// wire is one payload: the sending replica, whether its receivers must
// resync, and the changes as [kind, tenant, project, environment, name,
// seq] tuples.
type wire struct {
	Origin string  `json:"o"`
	Resync bool    `json:"r,omitempty"`
	C      [][]any `json:"c,omitempty"`
}

// encode splits batch into payloads of at most MaxPayload bytes. A
// change too large for a payload of its own is replaced by a resync.
func (r *Relay) encode(batch []Changed) []string {
	var out []string
	w := wire{Origin: r.origin, Resync: r.lost.Swap(false)}
	size := 0
	flush := func() {
		if len(w.C) == 0 && !w.Resync {
			return
		}
		b, _ := json.Marshal(w)
		out = append(out, string(b))
		w, size = wire{Origin: r.origin}, 0
	}
	for _, c := range batch {
		t := []any{uint8(c.Kind), c.Key.Tenant, c.Key.Project, c.Key.Environment, c.Key.Name, c.Key.Seq}
		b, _ := json.Marshal(t)
		if len(b)+64 > MaxPayload {
			w.Resync = true
			continue
		}
		if size+len(b)+64 > MaxPayload {
			flush()
		}
		w.C, size = append(w.C, t), size+len(b)+1
	}
	flush()
	return out
}

// Receive delivers the changes of payload to this replica's subscribers,
// unless this replica sent it. A payload that does not decode costs a
// resync.
func (r *Relay) Receive(payload string) {
	origin, cs, resync, err := Decode(payload)
	if err != nil {
		r.log.Warn("decode relayed changes", "err", err)
		r.resync()
		return
	}
	if origin == r.origin {
		return
	}
	for _, c := range cs {
		r.bus.Deliver(c)
	}
	if resync {
		r.resync()
	}
}

// Resync tells this replica it may have missed changes (its connection to
// the others was broken): the resync function runs.
func (r *Relay) Resync() { r.resync() }

// Decode reads a payload a Relay encoded: the replica that sent it, its
// changes, and whether the receivers must resync.
func Decode(payload string) (origin string, cs []Changed, resync bool, err error) {
	if len(payload) > 8000 {
		return "", nil, false, errors.New("relayed changes: payload too large")
	}
	var w struct {
		Origin string            `json:"o"`
		Resync bool              `json:"r"`
		C      []json.RawMessage `json:"c"`
	}
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		return "", nil, false, errors.New("relayed changes: not a relay payload")
	}
	for _, raw := range w.C {
		var (
			kind uint8
			k    Key
		)
		t := []any{&kind, &k.Tenant, &k.Project, &k.Environment, &k.Name, &k.Seq}
		if err := json.Unmarshal(raw, &t); err != nil || len(t) != 6 || kind == 0 || kind >= uint8(numKinds) {
			return "", nil, false, errors.New("relayed changes: malformed change")
		}
		cs = append(cs, Changed{Kind: Kind(kind), Key: k})
	}
	return w.Origin, cs, w.Resync, nil
}
