package store

import (
	"context"
	"fmt"
	"time"
)

// The gateway acknowledgements: which configuration each gateway streaming
// from a replica has put in force, so that the leader waits for gateways
// connected to any replica (gateway.Ledger; docs/adr/0016-high-availability.md).
// Times are the database's clock, so the replicas' clocks need not agree.

// PutGatewayAck records that gateway subscriber, streaming from replica,
// has configuration applied in force ("" none yet), seen now: one upsert.
func (s *Store) PutGatewayAck(ctx context.Context, replica, subscriber, applied string) error {
	_, err := s.db.ExecContext(ctx, s.d.rebind(`INSERT INTO gateway_acks (replica, subscriber, applied, seen_ms)
		VALUES (?, ?, ?, `+s.d.nowMillis+`)
		ON CONFLICT (replica, subscriber) DO UPDATE SET applied = excluded.applied, seen_ms = excluded.seen_ms`),
		replica, subscriber, applied)
	if err != nil {
		return fmt.Errorf("record gateway %s applied: %w", subscriber, s.d.translate(err))
	}
	return nil
}

// DeleteGatewayAck forgets gateway subscriber of replica (it disconnected).
func (s *Store) DeleteGatewayAck(ctx context.Context, replica, subscriber string) error {
	_, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM gateway_acks WHERE replica = ? AND subscriber = ?`), replica, subscriber)
	if err != nil {
		return fmt.Errorf("forget gateway %s: %w", subscriber, s.d.translate(err))
	}
	return nil
}

// TouchGatewayAcks marks every row of replica seen now and deletes every
// row, of any replica, not seen within expire (a stopped replica's).
func (s *Store) TouchGatewayAcks(ctx context.Context, replica string, expire time.Duration) error {
	if _, err := s.db.ExecContext(ctx, s.d.rebind(`UPDATE gateway_acks SET seen_ms = `+s.d.nowMillis+` WHERE replica = ?`), replica); err != nil {
		return fmt.Errorf("refresh gateway acknowledgements: %w", s.d.translate(err))
	}
	if _, err := s.db.ExecContext(ctx, s.d.rebind(`DELETE FROM gateway_acks WHERE seen_ms < `+s.d.nowMillis+` - ?`), expire.Milliseconds()); err != nil {
		return fmt.Errorf("expire gateway acknowledgements: %w", s.d.translate(err))
	}
	return nil
}

// GatewayAcksBehind counts the gateway streams of replicas other than
// except, seen within the last within, that do not have configuration id
// in force.
func (s *Store) GatewayAcksBehind(ctx context.Context, except, id string, within time.Duration) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.d.rebind(`SELECT count(*) FROM gateway_acks
		WHERE replica <> ? AND applied <> ? AND seen_ms >= `+s.d.nowMillis+` - ?`), except, id, within.Milliseconds()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read gateway acknowledgements: %w", s.d.translate(err))
	}
	return n, nil
}

// EachGatewayAck calls fn with each of up to limit gateway streams of
// replicas other than except, seen within the last within, by replica and
// subscriber.
func (s *Store) EachGatewayAck(ctx context.Context, except string, within time.Duration, limit int, fn func(replica, subscriber, applied string)) error {
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`SELECT replica, subscriber, applied FROM gateway_acks
		WHERE replica <> ? AND seen_ms >= `+s.d.nowMillis+` - ?
		ORDER BY replica, subscriber LIMIT ?`), except, within.Milliseconds(), limit)
	if err != nil {
		return fmt.Errorf("list gateway acknowledgements: %w", s.d.translate(err))
	}
	defer rows.Close()
	for rows.Next() {
		var replica, subscriber, applied string
		if err := rows.Scan(&replica, &subscriber, &applied); err != nil {
			return fmt.Errorf("list gateway acknowledgements: %w", s.d.translate(err))
		}
		fn(replica, subscriber, applied)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list gateway acknowledgements: %w", s.d.translate(err))
	}
	return nil
}
