package gateway

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Ledger is where the replicas of `berth server` sharing a database record
// which configuration each gateway streaming from them has put in force,
// so that the leader's Delivered waits for the gateways of every replica
// (docs/adr/0016-high-availability.md). internal/store implements it.
// Configurations are named by their stream ID, a digest of their units:
// replicas that build from the same database state name it alike.
type Ledger interface {
	// PutGatewayAck records that gateway subscriber, streaming from
	// replica, has configuration applied in force ("" none yet), seen now.
	PutGatewayAck(ctx context.Context, replica, subscriber, applied string) error
	// DeleteGatewayAck forgets subscriber of replica (it disconnected).
	DeleteGatewayAck(ctx context.Context, replica, subscriber string) error
	// TouchGatewayAcks marks every row of replica seen now and deletes
	// every row not seen within expire.
	TouchGatewayAcks(ctx context.Context, replica string, expire time.Duration) error
	// GatewayAcksBehind counts the gateways of replicas other than except,
	// seen within the last within, that do not have configuration id in
	// force.
	GatewayAcksBehind(ctx context.Context, except, id string, within time.Duration) (int, error)
	// EachGatewayAck calls fn with each of up to limit gateways of
	// replicas other than except, seen within the last within, by replica
	// and subscriber.
	EachGatewayAck(ctx context.Context, except string, within time.Duration, limit int, fn func(replica, subscriber, applied string)) error
}

// The ledger's cadences. A replica refreshes its rows every LedgerEvery
// (one statement whatever its number of gateways); a row not refreshed for
// LedgerLive (a stopped replica's) no longer counts, and after
// LedgerExpire it is deleted.
const (
	LedgerEvery  = 5 * time.Second
	LedgerLive   = 3 * LedgerEvery
	LedgerExpire = time.Minute
	ledgerWait   = 2 * time.Second // bounds one statement
)

// Share has p record its gateways' acknowledgements in l, under a replica
// name of this process's own, and consult the other replicas' in
// Delivered. Call it before serving and before RunLedger; without it a
// publisher counts its own gateways only (a server alone on its database).
func (p *Publisher) Share(l Ledger) {
	b := make([]byte, 8)
	_, _ = crand.Read(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ledger, p.replica = l, hex.EncodeToString(b)
	p.dirty, p.wrote = map[string]bool{}, make(chan struct{}, 1)
	for sub := range p.subs {
		p.dirty[sub] = true
	}
}

// markLocked notes that sub's row is to be written again; p.mu is held.
func (p *Publisher) markLocked(sub string) {
	if p.ledger == nil {
		return
	}
	p.dirty[sub] = true
	select {
	case p.wrote <- struct{}{}:
	default:
	}
}

// RunLedger writes this replica's changed rows as they change (a connected
// gateway, its acknowledgement, its disconnection: one statement each,
// coalesced while one is written) and refreshes them every LedgerEvery,
// until ctx ends; then it deletes them. Without Share it returns at once.
func (p *Publisher) RunLedger(ctx context.Context, log *slog.Logger) {
	p.mu.Lock()
	l, replica, wrote := p.ledger, p.replica, p.wrote
	p.mu.Unlock()
	if l == nil {
		return
	}
	tick := time.NewTicker(LedgerEvery)
	defer tick.Stop()
	defer p.forget(log)
	for {
		select {
		case <-ctx.Done():
			return
		case <-wrote:
		case <-tick.C:
			wctx, cancel := context.WithTimeout(ctx, ledgerWait)
			if err := l.TouchGatewayAcks(wctx, replica, LedgerExpire); err != nil && ctx.Err() == nil {
				log.Warn("refresh the gateways' acknowledgements", "err", err)
			}
			cancel()
		}
		p.flush(ctx, log)
	}
}

// flush writes the rows marked since the last flush; a row that fails is
// marked again, for the next.
func (p *Publisher) flush(ctx context.Context, log *slog.Logger) {
	p.mu.Lock()
	type row struct {
		sub, applied string
		gone         bool
	}
	var rows []row
	for sub := range p.dirty {
		s, ok := p.subs[sub]
		r := row{sub: sub, gone: !ok}
		if ok {
			r.applied = s.applied
		}
		rows = append(rows, r)
	}
	clear(p.dirty)
	p.mu.Unlock()
	for _, r := range rows {
		wctx, cancel := context.WithTimeout(ctx, ledgerWait)
		var err error
		if r.gone {
			err = p.ledger.DeleteGatewayAck(wctx, p.replica, r.sub)
		} else {
			err = p.ledger.PutGatewayAck(wctx, p.replica, r.sub, r.applied)
		}
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("record a gateway's acknowledgement", "subscriber", r.sub, "err", err)
			}
			p.mu.Lock()
			if _, again := p.dirty[r.sub]; !again {
				p.dirty[r.sub] = true
			}
			p.mu.Unlock()
		}
	}
}

// forget deletes this replica's rows as it stops, so that the leader stops
// waiting for its gateways at once (they reconnect to another replica).
func (p *Publisher) forget(log *slog.Logger) {
	p.mu.Lock()
	subs := make([]string, 0, len(p.subs))
	for sub := range p.subs {
		subs = append(subs, sub)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), ledgerWait)
	defer cancel()
	for _, sub := range subs {
		if err := p.ledger.DeleteGatewayAck(ctx, p.replica, sub); err != nil {
			log.Warn("forget a gateway's acknowledgement", "subscriber", sub, "err", err)
			return
		}
	}
}

// othersDelivered reports whether no gateway of another replica is behind
// configuration id, which became current here at since. Past AckWait
// after since every gateway still behind is stuck and not waited for, and
// nothing is read. A failed read is not delivered.
func (p *Publisher) othersDelivered(l Ledger, replica, id string, since time.Time) bool {
	if l == nil || time.Since(since) >= p.AckWait {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), ledgerWait)
	defer cancel()
	n, err := l.GatewayAcksBehind(ctx, replica, id, LedgerLive)
	return err == nil && n == 0
}

// MaxDeliveries bounds the gateways Deliveries lists.
const MaxDeliveries = 2 * MaxSubscribers

// Delivery is one gateway as a publisher sees it.
type Delivery struct {
	// Replica is the name of the replica the gateway streams from; Local
	// says whether that is this one.
	Replica string
	Local   bool
	// Subscriber is the ID the gateway streams under.
	Subscriber string
	// Applied is the ID of the configuration it reported in force ("":
	// none yet); Current whether that is the one published now.
	Applied string
	Current bool
}

// Deliveries is what Delivered decides on, for people: the configuration
// published now, whether it counts as delivered, and every gateway that
// reports what it applies — this replica's, and with a Ledger the other
// replicas' seen within LedgerLive.
type Deliveries struct {
	// Replica is this replica's name ("" without a Ledger).
	Replica string
	// Config is the ID of the configuration published now ("": none yet).
	Config    string
	Delivered bool
	// Gateways are this replica's first, then the others', by replica and
	// subscriber; at most MaxDeliveries.
	Gateways []Delivery
}

// Deliveries reads p's gateways and, with a Ledger, the other replicas'.
// A failed read of the Ledger is returned with nothing else.
func (p *Publisher) Deliveries(ctx context.Context) (Deliveries, error) {
	delivered := p.Delivered()
	p.mu.Lock()
	d := Deliveries{Replica: p.replica, Config: p.id, Delivered: delivered}
	for sub, s := range p.subs {
		d.Gateways = append(d.Gateways, Delivery{Replica: p.replica, Local: true, Subscriber: sub, Applied: s.applied, Current: s.applied == p.id})
	}
	l := p.ledger
	p.mu.Unlock()
	slices.SortFunc(d.Gateways, func(a, b Delivery) int { return strings.Compare(a.Subscriber, b.Subscriber) })
	if l == nil {
		return d, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ledgerWait)
	defer cancel()
	err := l.EachGatewayAck(ctx, d.Replica, LedgerLive, MaxDeliveries-len(d.Gateways), func(replica, sub, applied string) {
		d.Gateways = append(d.Gateways, Delivery{Replica: replica, Subscriber: sub, Applied: applied, Current: applied == d.Config})
	})
	if err != nil {
		return Deliveries{}, err
	}
	return d, nil
}
