package identity_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
)

// recorded collects what Refusals writes.
type recorded struct {
	mu   sync.Mutex
	sums []string
}

func (r *recorded) sink(_ context.Context, _ audit.Actor, e audit.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sums = append(r.sums, e.Summary)
	return nil
}

func (r *recorded) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.sums...)
}

func newRefusals(max int) (*identity.Refusals, *recorded, *clock.Fake) {
	c := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	rec := &recorded{}
	return identity.NewRefusals(c, time.Hour, max, rec.sink, slog.New(slog.NewTextHandler(io.Discard, nil))), rec, c
}

func TestRefusedLoginsOfOneSourceAreOneRecordPerWindow(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r, rec, c := newRefusals(0)
	for i := range 15 {
		if err := r.Refused(ctx, identity.Refusal{Source: "10.0.0.1", User: fmt.Sprintf("u%d", i%3), Reason: "wrong"}); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
	}
	if got := len(rec.all()); got != 1 {
		t.Fatalf("%d records within the window, want the first refusal only: %q", got, rec.all())
	}
	c.Advance(time.Hour)
	if err := r.Refused(ctx, identity.Refusal{Source: "10.0.0.1", User: "u0", Reason: "wrong"}); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if len(got) != 3 || !strings.HasPrefix(got[1], "14 more refused logins from 10.0.0.1 for user(s) u1, u2, u0 between 2026-01-02T03:04:06Z and 2026-01-02T03:04:19Z") {
		t.Fatalf("records after the window: %q", got)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(rec.all()); got != 3 {
		t.Errorf("%d records after close, want 3: a window with only its first refusal adds nothing", got)
	}
}

func TestPendingRefusalsAreWrittenAtClose(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r, rec, _ := newRefusals(0)
	for range 4 {
		_ = r.Refused(ctx, identity.Refusal{Source: "10.0.0.2", User: "ann", Reason: "wrong"})
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if len(got) != 2 || !strings.HasPrefix(got[1], "3 more refused logins from 10.0.0.2 for user(s) ann between") {
		t.Fatalf("records: %q", got)
	}
}

func TestRefusalsTrackAtMostMaxSourcesAndLoseNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r, rec, c := newRefusals(3)
	for i := range 5 {
		src := fmt.Sprintf("10.0.1.%d", i)
		for range 2 {
			_ = r.Refused(ctx, identity.Refusal{Source: src, User: "ann", Reason: "wrong"})
		}
		c.Advance(time.Second)
	}
	if got := r.Pending(); got != 3 {
		t.Errorf("%d sources tracked, want 3", got)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var firsts, more int
	for _, s := range rec.all() {
		switch {
		case strings.HasPrefix(s, "login refused"):
			firsts++
		case strings.HasPrefix(s, "1 more refused logins from 10.0.1."):
			more++
		default:
			t.Errorf("unexpected record %q", s)
		}
	}
	if firsts != 5 || more != 5 {
		t.Errorf("%d first and %d aggregate records, want 5 and 5 (evicted sources are written, not dropped)", firsts, more)
	}
}

func TestAnAggregateListsAtMostTenUserNames(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r, rec, _ := newRefusals(0)
	for i := range 30 {
		_ = r.Refused(ctx, identity.Refusal{Source: "10.0.0.3", User: fmt.Sprintf("user-%02d", i), Reason: "wrong"})
	}
	_ = r.Close(ctx)
	got := rec.all()
	if len(got) != 2 || strings.Count(got[1], "user-") != 10 || !strings.Contains(got[1], "and others") {
		t.Fatalf("records: %q", got)
	}
}
