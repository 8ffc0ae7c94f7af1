package controller_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
)

// The release bench times "rollback decided and committed" by OnAdvanced:
// it must run once the Advance's transaction has committed, with the order
// that transaction wrote.
func TestOnAdvancedHearsTheOrderOnceItsTransactionCommitted(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	// No controller runs: only the Advance below changes the order.
	p, err := platform.New(st, platform.Options{Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{c: clustertest.Start(t), p: p, store: st}
	e.fixture(t)
	o := e.startOrder(t, []release.Item{{Application: "red-auth", Version: "v2"}}, time.Minute)

	log := slog.New(slog.DiscardHandler)
	reg := kube.NewRegistry(log, nil)
	t.Cleanup(reg.Close)
	rel := controller.NewReleases(st, p.Release, reg, log, 0)
	var heard, stored []release.Order
	rel.OnAdvanced = func(o release.Order) {
		var s release.Order
		err := st.View(context.WithoutCancel(t.Context()), func(tx platform.Tx) (err error) {
			s, err = tx.GetOrder(t.Context(), o.Tenant, o.Project, o.ID)
			return err
		})
		if err != nil {
			t.Error(err)
		}
		heard, stored = append(heard, o), append(stored, s)
	}
	if _, err := rel.Advance(t.Context(), o.Key()); err != nil {
		t.Fatal(err)
	}

	if len(heard) != 1 {
		t.Fatalf("OnAdvanced heard %d orders, want 1", len(heard))
	}
	if got := heard[0].Items[0].State; got != release.ItemDeploying {
		t.Fatalf("OnAdvanced heard item state %s, want %s (the Advance started it)", got, release.ItemDeploying)
	}
	if stored[0].ResourceVersion != heard[0].ResourceVersion || stored[0].Items[0].State != release.ItemDeploying {
		t.Errorf("when OnAdvanced ran the database held version %d with item %s; want the committed version %d with item %s",
			stored[0].ResourceVersion, stored[0].Items[0].State, heard[0].ResourceVersion, release.ItemDeploying)
	}
}
