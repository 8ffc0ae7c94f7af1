package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/stdlib"

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
//     functions one after another, each inside a savepoint of its own, sent
//     with the function's first statement (savepointState); whoever queues
//     meanwhile joins the group, up to maxGroup. A function that fails (or
//     panics, or whose context is done) is rolled back to its savepoint and
//     answered at once with its error: nothing of it is committed, and the
//     others carry on.
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
	if g := c.take(int(c.limit.Load())); len(g) > 0 {
		s.commitGroup(g)
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
// in one transaction and answers every member.
func (s *Store) commitGroup(g []*member) {
	s.commits.groups.Add(1)
	// The group's statements outlive any one caller's cancellation.
	ctx := context.WithoutCancel(g[0].ctx)
	if s.d.name != "postgres" {
		stx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			answerAll(g, fmt.Errorf("begin transaction: %w", s.d.translate(err)))
			return
		}
		s.runGuarded(ctx, sqlConn{stx}, g)
		return
	}
	// On PostgreSQL the group runs on pgx's connection beneath
	// database/sql, which sends a member's savepoint with its first
	// statement, BEGIN with the chain's lock and the audit records with the
	// COMMIT, each pair in one round trip.
	dbc, err := s.db.Conn(ctx)
	if err != nil {
		answerAll(g, fmt.Errorf("begin transaction: %w", s.d.translate(err)))
		return
	}
	defer dbc.Close()
	_ = dbc.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			answerAll(g, fmt.Errorf("begin transaction: unexpected driver connection %T", dc))
			return nil
		}
		s.runGuarded(ctx, &pgConn{c: sc.Conn()}, g)
		if sc.Conn().PgConn().TxStatus() != 'I' { // a failed rollback: never reuse the connection
			return driver.ErrBadConn
		}
		return nil
	})
}

// runGuarded runs the group g on cn, which holds no transaction yet.
func (s *Store) runGuarded(ctx context.Context, cn conn, g []*member) {
	returned := false
	defer func() {
		if !returned { // a function ended the goroutine: nobody else may wait forever
			_ = cn.rollback(ctx)
			answerAll(g, ErrAbandoned)
		}
	}()
	s.runGroup(ctx, cn, &g)
	returned = true
}

// runGroup is commitGroup on cn; members who join are appended to *g.
func (s *Store) runGroup(ctx context.Context, cn conn, gp *[]*member) {
	c, g := s.commits, *gp
	defer func() { *gp = g }()
	shared := &Tx{c: cn, d: s.d, write: true}
	// Locking the chain first serializes writers (on PostgreSQL; SQLite's
	// BEGIN IMMEDIATE already did) and rules out lock-order deadlocks.
	if _, err := shared.LockAuditChain(ctx); err != nil {
		_ = cn.rollback(ctx)
		answerAll(g, fmt.Errorf("serialize write transaction: %w", err))
		return
	}
	var kept []*member // run successfully, answered at the commit
	for i := 0; i < len(g); i++ {
		m := g[i]
		ok, err := s.runMember(ctx, shared, m)
		if err != nil { // the transaction is unusable: nothing of the group commits
			_ = cn.rollback(ctx)
			answerAll(append(kept, g[i:]...), err)
			return
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
	if len(kept) == 0 {
		_ = cn.rollback(ctx) // nothing to commit
		return
	}
	if err := s.commit(ctx, cn, shared); err != nil {
		answerAll(kept, err)
		return
	}
	for _, m := range kept {
		close(m.done)
	}
}

// commit writes the audit records of the group's shared transaction and
// commits it (one round trip on PostgreSQL). On failure nothing of it is
// written.
func (s *Store) commit(ctx context.Context, cn conn, shared *Tx) error {
	pre, err := shared.flushStmts()
	if err != nil {
		_ = cn.rollback(ctx)
		return fmt.Errorf("write audit records: %w", err)
	}
	err = cn.commit(ctx, pre)
	var pe *preError
	if errors.As(err, &pe) {
		_ = cn.rollback(ctx)
		return fmt.Errorf("write audit records: %w", s.d.translate(err))
	}
	if err != nil {
		return fmt.Errorf("commit: %w", s.d.translate(err))
	}
	return nil
}

// savepointState is where the savepoint of a group's member stands. Each
// member runs inside "SAVEPOINT member", sent with its first statement
// (in the same round trip on PostgreSQL): a member that runs none (it
// only appends audit records, which the commit writes, or fails first)
// needs none.
type savepointState int

const (
	savepointNone   savepointState = iota // not a member's Tx
	savepointDue                          // to be sent with the member's next statement
	savepointSet                          // sent and established
	savepointFailed                       // sent and not established: the transaction is unusable
)

var savepointStmt = []stmt{{q: "SAVEPOINT member"}}

// ErrIgnoredFailure answers a function given to InTx that returned no
// error although one of its statements failed, aborting the transaction
// (PostgreSQL): it is rolled back to its savepoint, the others go on.
var ErrIgnoredFailure = errors.New("write transaction rolled back: a statement failed and the function returned no error")

// errSavepoint answers a group whose member's savepoint failed.
var errSavepoint = errors.New("savepoint failed: the write transaction cannot go on")

// runMember runs m's function in shared, inside a savepoint of its own. It
// reports whether m's changes stay in the transaction; an error means the
// transaction can no longer be used.
func (s *Store) runMember(ctx context.Context, shared *Tx, m *member) (bool, error) {
	if err := m.ctx.Err(); err != nil {
		m.err = err
		return false, nil
	}
	mt := &Tx{c: shared.c, d: shared.d, write: true, savepoint: savepointDue}
	if shared.chainState != nil {
		c := *shared.chainState
		mt.chainState = &c
	}
	m.panicked, m.err = call(m.fn, mt)
	switch {
	case mt.savepoint == savepointFailed:
		// Not established: rolling back to "member" would undo the
		// member before it.
		return false, errSavepoint
	case m.err == nil && m.panicked == nil && shared.c.aborted():
		m.err = ErrIgnoredFailure
	case m.err == nil && m.panicked == nil:
		m.tx, shared.chainState = mt, mt.chainState
		shared.pendingAudit = append(shared.pendingAudit, mt.pendingAudit...)
		return true, nil
	case mt.savepoint == savepointDue:
		return false, nil // no statement ran: nothing to roll back
	}
	if _, err := shared.c.exec(ctx, nil, "ROLLBACK TO SAVEPOINT member", nil); err != nil {
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
