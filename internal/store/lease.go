package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"berth.dev/berth/internal/leader"
)

// Lease is one lease of leadership among the replicas sharing a PostgreSQL
// database, as one holder sees it: a row of the leases table whose expiry
// is the database's clock, so the replicas' clocks need not agree. It
// implements leader.Lock. See docs/adr/0016-high-availability.md.
type Lease struct {
	s            *Store
	name, holder string
}

var _ leader.Lock = (*Lease)(nil)

// Lease returns the lease name as holder (a name unique to this process)
// sees it. Only PostgreSQL has leases: SQLite has one replica.
func (s *Store) Lease(name, holder string) (*Lease, error) {
	if s.d.name != "postgres" {
		return nil, errors.New("leader election needs PostgreSQL: an SQLite database has one server")
	}
	return &Lease{s: s, name: name, holder: holder}, nil
}

// Acquire implements leader.Lock: it takes the lease when it has no row
// yet, its term has expired, or its holder has this Lease's name (the same
// replica, restarted: its old term is fenced by the new epoch), with the
// next epoch.
func (l *Lease) Acquire(ctx context.Context, ttl time.Duration) (leader.Term, bool, error) {
	var epoch int64
	err := l.s.db.QueryRowContext(ctx, `INSERT INTO leases (name, holder, epoch, expires_at)
		VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = leases.epoch + 1, expires_at = EXCLUDED.expires_at
		WHERE leases.expires_at < now() OR leases.holder = EXCLUDED.holder
		RETURNING epoch`, l.name, l.holder, ttl.Milliseconds()).Scan(&epoch)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return leader.Term{}, false, nil
	case err != nil:
		return leader.Term{}, false, fmt.Errorf("acquire lease %s: %w", l.name, l.s.d.translate(err))
	}
	return leader.Term{Name: l.name, Epoch: epoch, TTL: ttl}, true, nil
}

// Renew implements leader.Lock.
func (l *Lease) Renew(ctx context.Context, t leader.Term, ttl time.Duration) (bool, error) {
	res, err := l.s.db.ExecContext(ctx, `UPDATE leases SET expires_at = now() + $1 * interval '1 millisecond'
		WHERE name = $2 AND holder = $3 AND epoch = $4`, ttl.Milliseconds(), l.name, l.holder, t.Epoch)
	if err != nil {
		return false, fmt.Errorf("renew lease %s: %w", l.name, l.s.d.translate(err))
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Release implements leader.Lock: the term expires at once.
func (l *Lease) Release(ctx context.Context, t leader.Term) error {
	_, err := l.s.db.ExecContext(ctx, `UPDATE leases SET expires_at = '-infinity'
		WHERE name = $1 AND holder = $2 AND epoch = $3`, l.name, l.holder, t.Epoch)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", l.name, l.s.d.translate(err))
	}
	return nil
}

// Take starts a new term of the lease for holder whoever held it, never
// expiring: for a leader elected elsewhere (a Kubernetes Lease), whose
// transactions are fenced by this epoch all the same.
func (l *Lease) Take(ctx context.Context) (leader.Term, error) {
	var epoch int64
	err := l.s.db.QueryRowContext(ctx, `INSERT INTO leases (name, holder, epoch, expires_at)
		VALUES ($1, $2, 1, 'infinity')
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = leases.epoch + 1, expires_at = EXCLUDED.expires_at
		RETURNING epoch`, l.name, l.holder).Scan(&epoch)
	if err != nil {
		return leader.Term{}, fmt.Errorf("take lease %s: %w", l.name, l.s.d.translate(err))
	}
	return leader.Term{Name: l.name, Epoch: epoch}, nil
}

// CheckLease implements leader.Store: the lease row is read with a share
// lock, so no other replica can take the lease before this transaction
// ends, and a term that is no longer current is refused.
func (tx *Tx) CheckLease(ctx context.Context, t leader.Term) error {
	q := "SELECT epoch FROM leases WHERE name = ?"
	if tx.d.name == "postgres" {
		q += " FOR SHARE"
		if err := tx.boundIdle(ctx, t.TTL); err != nil {
			return err
		}
	}
	var epoch int64
	err := tx.queryRow(ctx, q, t.Name).Scan(&epoch)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return leader.ErrFenced
	case err != nil:
		return fmt.Errorf("check lease %s: %w", t.Name, tx.d.translate(err))
	case epoch != t.Epoch:
		return leader.ErrFenced
	}
	return nil
}

// boundIdle has the database end this transaction, and its share lock on
// the lease row, should it stay idle for ttl (zero: no bound): its
// process stalled, and by its own count its term ended at 4/5 of ttl
// (ADR 0016), so it commits nothing more, and the lease can be taken at
// its expiry as if the transaction had not been open.
func (tx *Tx) boundIdle(ctx context.Context, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	// SET takes no parameters; the value is an integer of milliseconds.
	if _, err := tx.exec(ctx, fmt.Sprintf("SET LOCAL idle_in_transaction_session_timeout = %d", max(ttl.Milliseconds(), 1))); err != nil {
		return fmt.Errorf("bound the fenced transaction: %w", err)
	}
	return nil
}

// Holder is the name this process holds the lease under.
func (l *Lease) Holder() string { return l.holder }
