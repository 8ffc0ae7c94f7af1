package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"berth.dev/berth/internal/platform"
)

// Group commit. Every write transaction appends to the one audit chain and
// so holds the chain's lock until it commits: writers are serialized, and
// each pays a commit (an fsync) of its own. InTx therefore lets concurrent
// writers share one transaction and one commit, the way a write-ahead log
// flushes the records of every backend waiting on it at once:
//
//   - A caller queues its function and waits. Whoever holds the leadership
//     token (one at a time) takes the queue as one group and leads it.
//   - The leader begins one transaction, locks the audit chain and runs the
//     functions one after another, each after the first inside a savepoint
//     of its own; whoever queues meanwhile joins the group, up to maxGroup.
//     A function that fails (or panics, or whose context is done) is rolled
//     back to its savepoint and answered at once with its error: nothing of
//     it is committed, and the others carry on. When the first fails, the
//     transaction is rolled back and the others start a new one.
//   - The audit records the functions appended are written together, in
//     one statement, just before the commit (Tx.InsertAudit keeps them).
//   - The leader commits once and then answers the others. A caller is
//     answered success only after the commit that holds its change and its
//     audit records; a failed commit answers every one of them with the
//     error, and nothing of theirs is written.
//
// The chain is appended in the order the functions run, which is the
// order of their one commit. A group of one is a transaction of its own,
// as without group commit. See docs/adr/0013-audit-group-commit.md.

// maxGroup bounds a group. PostgreSQL tracks at most 64 subtransactions
// per transaction in shared memory before every snapshot taken anywhere
// must consult pg_subtrans; one savepoint per function stays within it.
const maxGroup = 64

// member is one InTx call waiting in, or answered by, a group.
type member struct {
	ctx context.Context
	fn  func(platform.Tx) error
	// Set by the leader before done is closed.
	tx       *Tx // the member's view of the group's transaction (its after-commit hooks)
	err      error
	panicked any
	done     chan struct{}
}

// committer queues write transactions and elects their leaders.
type committer struct {
	mu    sync.Mutex
	queue []*member
	// lead holds the leadership token: a send takes it, a receive gives it
	// back.
	lead chan struct{}
	// limit is the largest group, maxGroup unless set.
	limit atomic.Int64

	groups, members atomic.Int64
}

func newCommitter() *committer {
	c := &committer{lead: make(chan struct{}, 1)}
	c.limit.Store(maxGroup)
	return c
}

// SetCommitGroupLimit bounds the write transactions one commit may hold to
// n (1 to 64; others are clamped). 1 turns group commit off: every write
// transaction commits alone, as before group commit, which benchmarks
// compare against.
func (s *Store) SetCommitGroupLimit(n int) {
	s.commits.limit.Store(int64(min(max(n, 1), maxGroup)))
}

// CommitStats counts the write transactions InTx committed.
type CommitStats struct {
	// Groups is how many database transactions the write transactions
	// ran in; Members how many write transactions those were (each answered,
	// committed or not).
	Groups, Members int64
	// Waiting is how many write transactions are queued for the next group.
	Waiting int
}

// CommitStats reports how InTx grouped write transactions so far.
func (s *Store) CommitStats() CommitStats {
	c := s.commits
	c.mu.Lock()
	defer c.mu.Unlock()
	return CommitStats{Groups: c.groups.Load(), Members: c.members.Load(), Waiting: len(c.queue)}
}

// InTx runs fn in a read-write transaction, committing when it returns nil
// and rolling back otherwise (and on panic, which it re-raises). Concurrent
// calls may share one database transaction, each in a savepoint of its own
// (see group commit above): fn's changes commit together with its audit
// records or not at all, and a failing fn never undoes another's. fn may
// run on another goroutine than the caller's; InTx returns once fn's fate
// is settled and, on success, after the functions fn registered with
// AfterCommit have run on the caller's goroutine. fn must not call InTx
// (it would wait for its own group) nor end its goroutine (ErrAbandoned).
func (s *Store) InTx(ctx context.Context, fn func(platform.Tx) error) error {
	m := &member{ctx: ctx, fn: fn, done: make(chan struct{})}
	c := s.commits
	c.mu.Lock()
	c.queue = append(c.queue, m)
	c.mu.Unlock()
	for {
		select {
		case <-m.done:
			return m.answer()
		case c.lead <- struct{}{}:
			s.lead()
		}
	}
}

// lead commits groups from the queue, holding the leadership token.
func (s *Store) lead() {
	c := s.commits
	defer func() { <-c.lead }()
	for g := c.take(int(c.limit.Load())); len(g) > 0; {
		g = s.commitGroup(g)
	}
}

// ErrAbandoned answers the members of a group whose leader's goroutine
// ended inside a function (runtime.Goexit, as testing's FailNow does):
// nothing of the group was committed. Functions given to InTx must not end
// their goroutine; this keeps the others from waiting forever.
var ErrAbandoned = errors.New("write transaction abandoned: a function in its commit group ended its goroutine")

// take removes up to n members from the front of the queue.
func (c *committer) take(n int) []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = min(len(c.queue), max(n, 0))
	g := c.queue[:n:n]
	c.queue = c.queue[n:]
	c.members.Add(int64(n))
	return g
}

// answer returns the member's outcome on its own goroutine: the panic of
// its function raised again, or its error, or nil after its after-commit
// hooks ran.
func (m *member) answer() error {
	if m.panicked != nil {
		panic(m.panicked)
	}
	if m.err != nil {
		return m.err
	}
	for _, f := range m.tx.afterCommit {
		f()
	}
	return nil
}

// commitGroup runs g, and whoever queues while it runs (up to the limit),
// in one transaction and answers every member. When the first member
// fails it runs without a savepoint (there is nothing before it to keep):
// the transaction is rolled back, and the members not yet run are returned
// for a transaction of their own.
func (s *Store) commitGroup(g []*member) (rest []*member) {
	c := s.commits
	c.groups.Add(1)
	// The group's statements outlive any one caller's cancellation.
	ctx := context.WithoutCancel(g[0].ctx)
	stx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		answerAll(g, fmt.Errorf("begin transaction: %w", s.d.translate(err)))
		return nil
	}
	returned := false
	defer func() {
		if !returned { // a function ended the goroutine: nobody else may wait forever
			_ = stx.Rollback()
			answerAll(g, ErrAbandoned)
		}
	}()
	rest = s.runGroup(ctx, stx, &g)
	returned = true
	return rest
}

// runGroup is commitGroup once the transaction has begun; members who
// join are appended to *g.
func (s *Store) runGroup(ctx context.Context, stx *sql.Tx, gp *[]*member) (rest []*member) {
	c, g := s.commits, *gp
	defer func() { *gp = g }()
	shared := &Tx{tx: stx, d: s.d, write: true}
	// Locking the chain first serializes writers (on PostgreSQL; SQLite's
	// BEGIN IMMEDIATE already did) and rules out lock-order deadlocks.
	if _, err := shared.LockAuditChain(ctx); err != nil {
		_ = stx.Rollback()
		answerAll(g, fmt.Errorf("serialize write transaction: %w", err))
		return nil
	}
	var kept []*member // run successfully, answered at the commit
	for i := 0; i < len(g); i++ {
		m := g[i]
		ok, err := s.runMember(ctx, shared, m, i > 0)
		if err != nil { // the transaction is unusable: nothing of the group commits
			_ = stx.Rollback()
			answerAll(append(kept, g[i:]...), err)
			return nil
		}
		if !ok && i == 0 {
			_ = stx.Rollback()
			close(m.done)
			return g[1:]
		}
		if !ok {
			close(m.done) // rolled back to its savepoint: answered now
		} else {
			kept = append(kept, m)
		}
		if i == len(g)-1 { // take those who queued meanwhile
			g = append(g, c.take(int(c.limit.Load())-len(g))...)
		}
	}
	if err := shared.flushAudit(ctx); err != nil {
		_ = stx.Rollback()
		answerAll(kept, fmt.Errorf("write audit records: %w", err))
		return nil
	}
	if err := stx.Commit(); err != nil {
		answerAll(kept, fmt.Errorf("commit: %w", s.d.translate(err)))
		return nil
	}
	for _, m := range kept {
		close(m.done)
	}
	return nil
}

// runMember runs m's function in shared, inside a savepoint unless it is
// the group's first. It reports whether m's changes stay in the transaction; an
// error means the transaction can no longer be used.
func (s *Store) runMember(ctx context.Context, shared *Tx, m *member, savepoint bool) (bool, error) {
	if err := m.ctx.Err(); err != nil {
		m.err = err
		return false, nil
	}
	mt := &Tx{tx: shared.tx, d: shared.d, write: true}
	if shared.chainState != nil {
		c := *shared.chainState
		mt.chainState = &c
	}
	if savepoint {
		if _, err := shared.tx.ExecContext(ctx, "SAVEPOINT member"); err != nil {
			return false, fmt.Errorf("savepoint: %w", s.d.translate(err))
		}
	}
	m.panicked, m.err = call(m.fn, mt)
	if m.err == nil && m.panicked == nil {
		m.tx, shared.chainState = mt, mt.chainState
		shared.pendingAudit = append(shared.pendingAudit, mt.pendingAudit...)
		return true, nil
	}
	if !savepoint {
		return false, nil // the group's first member: the transaction rolls back
	}
	if _, err := shared.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT member"); err != nil {
		return false, fmt.Errorf("roll back to savepoint: %w", s.d.translate(err))
	}
	return false, nil
}

// call runs fn, turning a panic into a value.
func call(fn func(platform.Tx) error, tx *Tx) (panicked any, err error) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	return nil, fn(tx)
}

// answerAll answers every member of g not yet answered with err.
func answerAll(g []*member, err error) {
	for _, m := range g {
		select {
		case <-m.done:
			continue
		default:
		}
		if m.err == nil && m.panicked == nil {
			m.err = err
		}
		close(m.done)
	}
}
