package storetest

import (
	"bytes"
	"errors"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/tenancy"
)

// platformWith returns a platform over h's store sealing with key.
func (h *harness) platformWith(t *testing.T, key byte) (*platform.Platform, *seal.AESGCM) {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{key}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(h.st, platform.Options{Clock: h.clock, Sealer: s})
	if err != nil {
		t.Fatal(err)
	}
	return p, s
}

// testSealRotation: re-sealing moves every kubeconfig to the new key in
// one audited transaction, and a kubeconfig that does not open changes
// nothing.
func testSealRotation(t *testing.T, h *harness) {
	ctx := t.Context()
	h.cluster(t, "bj-1")
	h.cluster(t, "sh-1")
	p2, s2 := h.platformWith(t, 2)

	h.view(t, func(tx platform.Tx) error {
		_, err := p2.Tenancy.CheckSealed(ctx, tx)
		var ke *seal.KeyError
		if !errors.As(err, &ke) || ke.Want != must[*seal.AESGCM](t)(seal.New(make([]byte, seal.KeySize))).KeyID() {
			t.Errorf("CheckSealed with a new key = %v, want a KeyError naming the old key", err)
		}
		return nil
	})
	h.tx(t, func(tx platform.Tx) error {
		n, err := h.p.Tenancy.Reseal(ctx, tx, audit.System, s2, "berth admin rotate-seal-key")
		diff(t, "re-sealed", n, 2)
		return err
	})
	h.view(t, func(tx platform.Tx) error {
		if n, err := p2.Tenancy.CheckSealed(ctx, tx); err != nil || n != 2 {
			t.Errorf("CheckSealed with the new key = %d, %v", n, err)
		}
		kc := must[[]byte](t)(p2.Tenancy.Kubeconfig(ctx, tx, "sh-1"))
		diff(t, "kubeconfig", string(kc), "apiVersion: v1\nkind: Config\n# secret-token-sh-1")
		if _, err := h.p.Tenancy.Kubeconfig(ctx, tx, "sh-1"); !errors.Is(err, seal.ErrOpen) {
			t.Errorf("the old key still opens a re-sealed kubeconfig: %v", err)
		}
		recs := auditRecords(t, h, tx)
		last := recs[len(recs)-1]
		diff(t, "record", []string{last.Action, last.Summary}, []string{"seal.rotate", "berth admin rotate-seal-key: re-sealed 2 cluster kubeconfigs"})
		return nil
	})

	// sh-1 re-sealed under a third key: rotating from key 2 fails whole.
	p3, s3 := h.platformWith(t, 3)
	h.tx(t, func(tx platform.Tx) error {
		c := must[tenancy.Cluster](t)(p3.Tenancy.GetCluster(ctx, tx, "sh-1"))
		_, err := p3.Tenancy.UpdateCluster(ctx, tx, audit.System, c, []byte("apiVersion: v1\nkind: Config\n# three"))
		return err
	})
	before := h.verify(t).To
	err := h.st.InTx(ctx, func(tx platform.Tx) error {
		_, err := p2.Tenancy.Reseal(ctx, tx, audit.System, s3, "rotate")
		return err
	})
	var ke *seal.KeyError
	if !errors.As(err, &ke) || ke.Want != s3.KeyID() {
		t.Fatalf("Reseal with a kubeconfig the key cannot open = %v, want a KeyError naming %s", err, s3.KeyID())
	}
	h.view(t, func(tx platform.Tx) error {
		must[[]byte](t)(p2.Tenancy.Kubeconfig(ctx, tx, "bj-1")) // bj-1 was not moved to key 3
		return nil
	})
	diff(t, "records after a failed rotation", h.verify(t).To, before)
}
