package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

func testStaleWrite(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	var a, b tenancy.Tenant // two writers read the same version
	h.view(t, func(tx platform.Tx) (err error) { a, err = h.p.Tenancy.GetTenant(ctx, tx, "acme"); return err })
	h.view(t, func(tx platform.Tx) (err error) { b, err = h.p.Tenancy.GetTenant(ctx, tx, "acme"); return err })
	a.Description, b.Description = "written by a", "written by b"
	h.tx(t, func(tx platform.Tx) error { _, err := h.p.Tenancy.UpdateTenant(ctx, tx, h.admin, a); return err })
	err := h.st.InTx(ctx, func(tx platform.Tx) error { _, err := h.p.Tenancy.UpdateTenant(ctx, tx, h.admin, b); return err })
	wantErr(t, err, resource.ErrConflict)
	err = h.st.InTx(ctx, func(tx platform.Tx) error {
		return h.p.Tenancy.DeleteTenant(ctx, tx, h.admin, "acme", b.ResourceVersion)
	})
	wantErr(t, err, resource.ErrConflict)
	h.view(t, func(tx platform.Tx) error {
		got := must[tenancy.Tenant](t)(h.p.Tenancy.GetTenant(ctx, tx, "acme"))
		diff(t, "description", got.Description, "written by a")
		diff(t, "resourceVersion", got.ResourceVersion, int64(2))
		return nil
	})
}

func testConcurrentWriters(t *testing.T, h *harness) {
	ctx := t.Context()
	read := h.tenant(t, "acme")
	const writers = 4
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.st.InTx(ctx, func(tx platform.Tx) error {
				w := read
				w.Description = "writer " + string(rune('a'+i))
				_, err := h.p.Tenancy.UpdateTenant(ctx, tx, h.admin, w)
				return err
			})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, resource.ErrConflict):
			t.Errorf("writer failed with %v, want nil or ErrConflict", err)
		}
	}
	diff(t, "winners", won, 1)
	h.view(t, func(tx platform.Tx) error {
		diff(t, "resourceVersion", must[tenancy.Tenant](t)(h.p.Tenancy.GetTenant(ctx, tx, "acme")).ResourceVersion, int64(2))
		return nil
	})
}

func testViewIsReadOnly(t *testing.T, h *harness) {
	ctx := t.Context()
	err := h.st.View(ctx, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.CreateTenant(ctx, tx, h.admin, tenancy.Tenant{Name: "acme"})
		return err
	})
	if err == nil {
		t.Fatal("a write inside View succeeded")
	}
	t.Logf("write inside View: %v", err)
	h.view(t, func(tx platform.Tx) error {
		_, err := h.p.Tenancy.GetTenant(ctx, tx, "acme")
		wantErr(t, err, resource.ErrNotFound)
		return nil
	})
	for i := range 10 { // the connections View used write again afterwards
		h.view(t, func(platform.Tx) error { return nil })
		h.tenant(t, fmt.Sprintf("t%d", i))
	}
}
