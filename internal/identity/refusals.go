package identity

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
)

// Refusal is one refused login.
type Refusal struct {
	// Source is the client's address.
	Source string
	// User is the user name tried; CheckCredentials bounds it.
	User      string
	RequestID string
	// Reason says why, for the audit summary ("wrong user name or password").
	Reason string
}

// AuditSink writes one audit record in a transaction of its own.
type AuditSink func(ctx context.Context, a audit.Actor, e audit.Event) error

// Refusals aggregates refused logins per source address, so that a flood
// of wrong passwords costs the audit trail two records per source and
// window instead of one per attempt: the first refusal of a window is
// recorded at once, the following ones only counted, and one record
// "N more refused logins from X for user(s) … between t1 and t2" is
// written when the window closes (by a timer), at the source's next login
// attempt after it, when the source logs in successfully, when the table
// of sources is full and the source is the oldest, and at Close. At most
// MaxSources are tracked, each listing at most maxListedUsers user names.
// It is safe for concurrent use.
type Refusals struct {
	clock  clock.Clock
	window time.Duration
	max    int
	sink   AuditSink
	log    *slog.Logger

	mu      sync.Mutex
	sources map[string]*list.Element // of *refusalWindow, oldest at the front
	order   *list.List
	timer   *time.Timer
	closed  bool
}

// MaxSources is how many source addresses Refusals tracks at once.
const MaxSources = 10_000

const maxListedUsers = 10

type refusalWindow struct {
	source      string
	start       time.Time // the first refusal, recorded at once
	first, last time.Time // of the counted ones
	count       int
	users       []string
	moreUsers   bool
}

// NewRefusals returns Refusals with windows of length window measured on
// c, writing through sink and logging write errors of its timer to log.
// maxSources <= 0 means MaxSources.
func NewRefusals(c clock.Clock, window time.Duration, maxSources int, sink AuditSink, log *slog.Logger) *Refusals {
	if maxSources <= 0 {
		maxSources = MaxSources
	}
	return &Refusals{clock: c, window: window, max: maxSources, sink: sink, log: log,
		sources: map[string]*list.Element{}, order: list.New()}
}

// Refused records a refused login: it writes the first refusal of the
// source's window (and any aggregate now due) before returning, and only
// counts the others.
func (r *Refusals) Refused(ctx context.Context, f Refusal) error {
	now := r.clock.Now()
	r.mu.Lock()
	var due []*refusalWindow
	if w := r.get(f.Source); w != nil && now.Sub(w.start) >= r.window {
		due = append(due, r.remove(w))
	}
	if w := r.get(f.Source); w != nil {
		w.add(f.User, now)
		r.mu.Unlock()
		return nil
	}
	if r.order.Len() >= r.max {
		due = append(due, r.remove(r.order.Front().Value.(*refusalWindow)))
	}
	r.sources[f.Source] = r.order.PushBack(&refusalWindow{source: f.Source, start: now})
	r.arm()
	r.mu.Unlock()
	err := r.write(ctx, due)
	a := audit.Actor{User: f.User, SourceIP: f.Source, RequestID: f.RequestID}
	ev := audit.Event{Action: "user.login", Target: "users/" + f.User, Outcome: audit.Denied,
		Summary: "login refused: " + f.Reason}
	return errors.Join(err, r.sink(ctx, a, ev))
}

// Attempting writes the aggregate of source's window if it has closed; call
// it when a login from source begins, so the aggregate precedes what the
// attempt records.
func (r *Refusals) Attempting(ctx context.Context, source string) error {
	now := r.clock.Now()
	r.mu.Lock()
	var due []*refusalWindow
	if w := r.get(source); w != nil && now.Sub(w.start) >= r.window {
		due = append(due, r.remove(w))
	}
	r.mu.Unlock()
	return r.write(ctx, due)
}

// Succeeded writes the pending aggregate of source, if any, before the
// caller records a successful login from it, and forgets the source.
func (r *Refusals) Succeeded(ctx context.Context, source string) error {
	r.mu.Lock()
	var due []*refusalWindow
	if w := r.get(source); w != nil {
		due = append(due, r.remove(w))
	}
	r.mu.Unlock()
	return r.write(ctx, due)
}

// FlushExpired writes the aggregates of every window that has closed.
func (r *Refusals) FlushExpired(ctx context.Context) error {
	now := r.clock.Now()
	r.mu.Lock()
	var due []*refusalWindow
	for e := r.order.Front(); e != nil; {
		next := e.Next()
		if w := e.Value.(*refusalWindow); now.Sub(w.start) >= r.window {
			due = append(due, r.remove(w))
		}
		e = next
	}
	r.mu.Unlock()
	return r.write(ctx, due)
}

// Close writes every pending aggregate and stops the timer; refusals
// after Close are still recorded, each at once.
func (r *Refusals) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	var due []*refusalWindow
	for e := r.order.Front(); e != nil; e = r.order.Front() {
		due = append(due, r.remove(e.Value.(*refusalWindow)))
	}
	r.mu.Unlock()
	return r.write(ctx, due)
}

// Pending reports how many sources have an open window; for tests and
// metrics.
func (r *Refusals) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.order.Len()
}

func (r *Refusals) get(source string) *refusalWindow {
	if e, ok := r.sources[source]; ok {
		return e.Value.(*refusalWindow)
	}
	return nil
}

// remove forgets w and returns it; r.mu is held.
func (r *Refusals) remove(w *refusalWindow) *refusalWindow {
	r.order.Remove(r.sources[w.source])
	delete(r.sources, w.source)
	return w
}

// arm starts the timer that closes windows, unless it runs; r.mu is held.
// The timer runs on the wall clock: it only decides when to look, the
// clock decides which windows have closed.
func (r *Refusals) arm() {
	if r.timer != nil || r.closed {
		return
	}
	r.timer = time.AfterFunc(r.window, r.tick)
}

func (r *Refusals) tick() {
	ctx := context.Background()
	if err := r.FlushExpired(ctx); err != nil {
		r.log.Error("audit refused logins", "err", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	if r.order.Len() > 0 {
		r.arm()
	}
}

// write records the aggregates of ws that counted anything.
func (r *Refusals) write(ctx context.Context, ws []*refusalWindow) error {
	var errs []error
	for _, w := range ws {
		if w.count == 0 {
			continue
		}
		a, ev := w.record()
		errs = append(errs, r.sink(context.WithoutCancel(ctx), a, ev))
	}
	return errors.Join(errs...)
}

func (w *refusalWindow) add(user string, now time.Time) {
	if w.count == 0 {
		w.first = now
	}
	w.count++
	w.last = now
	for _, u := range w.users {
		if u == user {
			return
		}
	}
	if len(w.users) < maxListedUsers {
		w.users = append(w.users, user)
		return
	}
	w.moreUsers = true
}

// record is the aggregate audit record of w.
func (w *refusalWindow) record() (audit.Actor, audit.Event) {
	a := audit.Actor{SourceIP: w.source}
	target := "users"
	if len(w.users) == 1 && !w.moreUsers {
		a.User, target = w.users[0], "users/"+w.users[0]
	}
	users := strings.Join(w.users, ", ")
	if w.moreUsers {
		users += " and others"
	}
	return a, audit.Event{Action: "user.login", Target: target, Outcome: audit.Denied,
		Summary: fmt.Sprintf("%d more refused logins from %s for user(s) %s between %s and %s", w.count, w.source, users,
			w.first.UTC().Format(time.RFC3339), w.last.UTC().Format(time.RFC3339))}
}
