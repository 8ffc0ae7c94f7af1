package admincmd

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/cli/servercmd"
	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

// TestRotateSealKey: rotation re-seals every kubeconfig under the new key
// with an audit record; afterwards only the new key passes the start-up
// check, and the old key is refused naming the new key's ID.
func TestRotateSealKey(t *testing.T) {
	ctx := t.Context()
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	oldSealer, _, err := servercmd.OpenSealer(cfg) // creates seal.key as the first start does
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, cfg.DataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(st, platform.Options{Sealer: oldSealer})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bj-1", "sh-1"} {
		err := p.DB.InTx(ctx, func(tx platform.Tx) error {
			_, err := p.Tenancy.RegisterCluster(ctx, tx, audit.System, tenancy.Cluster{Name: name}, []byte("kubeconfig of "+name))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	newPath := filepath.Join(t.TempDir(), "keys", "seal-2.key")
	var out bytes.Buffer
	if err := servercmd.RotateSealKey(ctx, cfg, newPath, &out); err != nil {
		t.Fatalf("Rotate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Re-sealed 2 cluster kubeconfigs") {
		t.Errorf("output:\n%s", out.String())
	}
	if info, err := os.Stat(newPath); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("new key file: %v, %v", info, err)
	}

	rotated := cfg
	rotated.SealKeyFile = newPath
	newSealer, _, err := servercmd.OpenSealer(rotated)
	if err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(ctx, cfg.DataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, tc := range []struct {
		name   string
		sealer *seal.AESGCM
		want   string // "" for a start
	}{
		{"the new key opens everything", newSealer, ""},
		{"the old key is refused, naming the new key", oldSealer, "sealed under key ID " + newSealer.KeyID()},
	} {
		p, err := platform.New(st, platform.Options{Sealer: tc.sealer})
		if err != nil {
			t.Fatal(err)
		}
		err = servercmd.CheckSealed(ctx, p, "k", tc.sealer.KeyID(), false)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: CheckSealed = %v, want %q", tc.name, err, tc.want)
		}
	}
	err = st.View(ctx, func(tx platform.Tx) error {
		recs, err := tx.ListAudit(ctx, audit.Query{Desc: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(recs) != 1 || recs[0].Action != "seal.rotate" || !strings.Contains(recs[0].Summary, "to key ID "+newSealer.KeyID()) {
			return errors.New("no seal.rotate record naming the new key: " + recs[0].Action + " " + recs[0].Summary)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Rotating to the current key is refused.
	if err := servercmd.RotateSealKey(ctx, rotated, newPath, io.Discard); err == nil || !strings.Contains(err.Error(), "it is the current key") {
		t.Errorf("rotating to the current key: %v", err)
	}
}
