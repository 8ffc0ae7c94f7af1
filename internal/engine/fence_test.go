package engine

import (
	"errors"
	"testing"
	"time"

	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store/storetest"
)

func TestFencedWritesOnlyInTheCurrentTerm(t *testing.T) {
	st := storetest.Postgres(t)(t)
	a, err := st.Lease("controllers", "a")
	if err != nil {
		t.Fatal(err)
	}
	term, ok, err := a.Acquire(t.Context(), time.Hour)
	if err != nil || !ok {
		t.Fatalf("acquire = %v, %v", ok, err)
	}
	f := &fenced{Transactor: st}
	ran := 0
	write := func(platform.Tx) error { ran++; return nil }

	if err := f.InTx(t.Context(), write); !errors.Is(err, leader.ErrFenced) || ran != 0 {
		t.Fatalf("outside a term: err %v, ran %d; want leader.ErrFenced, not run", err, ran)
	}
	f.term.Store(&term)
	if err := f.InTx(t.Context(), write); err != nil || ran != 1 {
		t.Fatalf("in the current term: err %v, ran %d; want it run", err, ran)
	}
	// Another replica starts a term: this one is deposed but has not noticed.
	b, _ := st.Lease("controllers", "b")
	if _, err := b.Take(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.InTx(t.Context(), write); !errors.Is(err, leader.ErrFenced) || ran != 1 {
		t.Fatalf("in a deposed term: err %v, ran %d; want leader.ErrFenced, not run", err, ran)
	}
	if err := f.View(t.Context(), func(platform.Tx) error { return nil }); err != nil {
		t.Errorf("reads are not fenced: %v", err)
	}
}

func TestAloneWritesWithoutALease(t *testing.T) {
	st := storetest.SQLite(t)(t)
	f := &fenced{Transactor: st}
	f.term.Store(&leader.Term{}) // leader.Always's term
	if err := f.InTx(t.Context(), func(platform.Tx) error { return nil }); err != nil {
		t.Fatalf("a server alone on SQLite: %v", err)
	}
}
