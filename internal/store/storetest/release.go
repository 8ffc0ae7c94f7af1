package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

func (h *harness) createOrder(t *testing.T, title string, items ...release.Item) release.Order {
	t.Helper()
	var o release.Order
	h.tx(t, func(tx platform.Tx) (err error) {
		o, err = h.p.Release.Create(t.Context(), tx, h.admin, release.Order{Tenant: "acme", Project: "payments",
			Environment: "prod", Title: title, Items: items}, false)
		return err
	})
	return o
}

// testConcurrentStartsHoldAnApplicationOnce starts several orders that
// all contain red-auth at the same moment: exactly one may hold it.
func testConcurrentStartsHoldAnApplicationOnce(t *testing.T, h *harness) {
	h.deployFixture(t)
	const n = 8
	var orders []release.Order
	for i := range n {
		orders = append(orders, h.createOrder(t, fmt.Sprintf("race %d", i), release.Item{Application: "red-auth", Version: "v2"}))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, o := range orders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.st.InTx(t.Context(), func(tx platform.Tx) error {
				_, err := h.p.Release.Start(t.Context(), tx, h.admin, o.Key())
				return err
			})
		}()
	}
	wg.Wait()
	started := 0
	for i, err := range errs {
		var re *resource.RefusedError
		switch {
		case err == nil:
			started++
		case errors.As(err, &re) && strings.Contains(re.Message, "red-auth (by order"):
		case errors.Is(err, resource.ErrConflict):
			// PostgreSQL may abort a transaction that lost the race on the
			// lock row's key; the order stays Approved either way.
		default:
			t.Errorf("start %d: %v", i, err)
		}
	}
	if started != 1 {
		t.Fatalf("%d orders started holding red-auth, want exactly 1 (%v)", started, errs)
	}
	h.view(t, func(tx platform.Tx) error {
		active, err := tx.ActiveOrders(t.Context())
		if len(active) != 1 {
			t.Errorf("%d active orders, want 1", len(active))
		}
		return err
	})
}

// testOrdersListNewestFirst pages through orders newest first, filters by
// environment, and releases an order's locks when it ends.
func testOrdersListNewestFirst(t *testing.T, h *harness) {
	h.deployFixture(t)
	var want []string
	for i := range 5 {
		o := h.createOrder(t, fmt.Sprintf("order %d", i), release.Item{Application: "blue-pay", Version: "v1"})
		want = append([]string{o.ID}, want...)
		h.clock.Advance(time.Second) // distinct creation times
	}
	var got []string
	after := ""
	for {
		var page []release.Order
		h.view(t, func(tx platform.Tx) (err error) {
			page, err = tx.ListOrders(t.Context(), release.Filter{Tenant: "acme", Project: "payments"}, after, 2)
			return err
		})
		if len(page) == 0 {
			break
		}
		for _, o := range page {
			got = append(got, o.ID)
		}
		after = release.PageKey(page[len(page)-1])
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want newest first %v", got, want)
	}
	h.view(t, func(tx platform.Tx) error {
		none, err := tx.ListOrders(t.Context(), release.Filter{Tenant: "acme", Project: "payments", Environment: "test"}, "", 0)
		if len(none) != 0 {
			t.Errorf("environment filter listed %d orders of prod", len(none))
		}
		return err
	})
	k := release.Key{Tenant: "acme", Project: "payments", ID: want[0]}
	h.tx(t, func(tx platform.Tx) error {
		_, err := h.p.Release.Start(t.Context(), tx, h.admin, k)
		return err
	})
	h.tx(t, func(tx platform.Tx) error {
		_, err := h.p.Release.Abort(t.Context(), tx, h.admin, k, "changed our mind")
		return err
	})
	h.view(t, func(tx platform.Tx) error {
		l, err := tx.GetLock(t.Context(), "acme", "payments", "prod", "blue-pay")
		if err != nil {
			return err
		}
		if l.Order != k.ID {
			t.Errorf("blue-pay held by %s, want %s until the rollback ends", l.Order, k.ID)
		}
		return nil
	})
}

// testOutboxFollowsTheTransaction checks notifications are kept only when
// their transaction commits, come out oldest first, and are updated and
// removed.
func testOutboxFollowsTheTransaction(t *testing.T, h *harness) {
	ctx := t.Context()
	boom := errors.New("boom")
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		if err := tx.EnqueueNotification(ctx, notify.Message{Event: "rolled.back", Title: "lost"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	for _, title := range []string{"first", "second"} {
		h.tx(t, func(tx platform.Tx) error {
			return tx.EnqueueNotification(ctx, notify.Message{Tenant: "acme", Event: "release.failed", Title: title, Text: "发布失败", At: time.Now()})
		})
	}
	var ms []notify.Message
	h.view(t, func(tx platform.Tx) (err error) { ms, err = tx.PendingNotifications(ctx, 10); return err })
	if len(ms) != 2 || ms[0].Title != "first" || ms[1].Title != "second" || ms[1].Text != "发布失败" || ms[0].ID >= ms[1].ID {
		t.Fatalf("outbox %+v", ms)
	}
	ms[0].Attempts, ms[0].LastError = 1, "503"
	h.tx(t, func(tx platform.Tx) error { return tx.UpdateNotification(ctx, ms[0]) })
	h.tx(t, func(tx platform.Tx) error { return tx.DeleteNotification(ctx, ms[1].ID) })
	h.view(t, func(tx platform.Tx) (err error) { ms, err = tx.PendingNotifications(ctx, 10); return err })
	if len(ms) != 1 || ms[0].Attempts != 1 || ms[0].LastError != "503" {
		t.Fatalf("outbox after update and delete %+v", ms)
	}
}
