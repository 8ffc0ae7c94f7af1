package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Changes between replicas travel as PostgreSQL notifications on one
// channel per schema (several Berth databases may share a server's
// database in schemas of their own, as the tests do).

// channelOf names the channel of schema, within PostgreSQL's 63 bytes.
func channelOf(schema string) string {
	c := "berth_changes." + schema
	if len(c) > 63 {
		sum := sha256.Sum256([]byte(schema))
		c = "berth_changes." + hex.EncodeToString(sum[:16])
	}
	return c
}

// Notify sends payloads to every replica listening on this database
// (Listen), in order, in one statement.
func (s *Store) Notify(ctx context.Context, payloads []string) error {
	if s.d.name != "postgres" {
		return errors.New("notify needs PostgreSQL")
	}
	if _, err := s.db.ExecContext(ctx, "SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS u(p, i) ORDER BY i",
		s.channel, payloads); err != nil {
		return fmt.Errorf("notify: %w", s.d.translate(err))
	}
	return nil
}

// Listen receives the payloads every replica sends with Notify until ctx
// ends, on a connection of its own. connected is called each time it
// (re)connects, once it listens: notifications sent while it was not
// connected are lost. failed hears why a connection ended; Listen then
// connects again after a second.
func (s *Store) Listen(ctx context.Context, receive func(payload string), connected func(), failed func(error)) {
	for ctx.Err() == nil {
		err := s.listen(ctx, receive, connected)
		if ctx.Err() != nil {
			return
		}
		failed(err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listen(ctx context.Context, receive func(string), connected func()) error {
	if s.pg == nil {
		return errors.New("listen needs PostgreSQL")
	}
	conn, err := pgx.ConnectConfig(ctx, s.pg.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", s.d.translate(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", s.d.translate(err))
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", s.d.translate(err))
		}
		receive(n.Payload)
	}
}
