package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store"
)

// TestAuditAnchorsFindARewrittenDatabase: checkpoints signed outside the
// database prove a rewrite of the trail that plain verification cannot
// see, because the attacker recomputed the whole chain.
func TestAuditAnchorsFindARewrittenDatabase(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"BERTH_ADMIN_PASSWORD": adminPassword, "BERTH_CONFIG": filepath.Join(dir, "config.yaml")}
	getenv := func(k string) string { return vars[k] }
	url := startServer(t, dir, kubeconfig, getenv)
	b := berth{t: t, getenv: getenv}
	b.must(adminPassword+"\n", []string{"login", "--server", url, "--username", "admin", "--password-stdin"}, "Logged in")
	b.must("apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: bank}\n", []string{"apply", "-f", "-"}, "Tenant/bank")

	key, pub, anchors := filepath.Join(dir, "keys", "anchor.key"), filepath.Join(dir, "anchor.pub"), filepath.Join(dir, "anchors")
	b.must("", []string{"audit", "keygen", "--key", key, "--public-key", pub}, "private key "+key)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := b.run("", "audit", "anchor", "--key", key, "--dir", anchors); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("anchoring with a key others can read: err %v\n%s", err, out)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	b.must("", []string{"audit", "anchor", "--key", key, "--dir", anchors}, "Anchored record")
	b.must("apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: shop}\n", []string{"apply", "-f", "-"}, "Tenant/shop")
	b.must("", []string{"audit", "anchor", "--key", key, "--dir", anchors}, "Anchored record")
	b.must("", []string{"audit", "verify", "--anchors", anchors, "--public-key", pub}, "OK: 2 of 2 anchors found")

	// Someone with write access to the database edits record 2 and
	// recomputes the chain from the start: plain verify passes.
	rewriteTrail(t, filepath.Join(dir, "data", store.SQLiteFile), 2)
	b.must("", []string{"audit", "verify"}, "OK:")
	out, err := b.run("", "audit", "verify", "--anchors", anchors, "--public-key", pub)
	if err == nil || !strings.Contains(out, "rewritten") {
		t.Fatalf("verify --anchors after a rewrite: err %v, output:\n%s", err, out)
	}

	// A checkpoint planted by whoever rewrote the trail, signed with a key
	// of their own, is refused rather than skipped.
	other, planted := filepath.Join(dir, "other.key"), filepath.Join(dir, "planted")
	b.must("", []string{"audit", "keygen", "--key", other, "--public-key", filepath.Join(dir, "other.pub")}, "Key")
	b.must("", []string{"audit", "anchor", "--key", other, "--dir", planted}, "Anchored record")
	files, err := filepath.Glob(filepath.Join(planted, "*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("planted checkpoints: %v %v", files, err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(anchors, "zz-planted.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = b.run("", "audit", "verify", "--anchors", anchors, "--public-key", pub)
	if err == nil || !strings.Contains(err.Error(), "checkpoint signature does not verify") {
		t.Fatalf("verify --anchors with a planted checkpoint: err %v, output:\n%s", err, out)
	}
}

// rewriteTrail plays the attacker: it changes the summary of record seq
// and recomputes every hash from the genesis with the public algorithm.
func rewriteTrail(t *testing.T, path string, seq int64) {
	t.Helper()
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var recs []audit.Record
	err = st.View(t.Context(), func(tx platform.Tx) error {
		recs, err = tx.ListAudit(t.Context(), audit.Query{Limit: 100000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	prev := audit.GenesisHash
	for _, r := range recs {
		if r.Seq == seq {
			r.Summary = "nothing happened"
		}
		r.PrevHash = prev
		r.Hash = audit.HashOf(prev, r)
		if _, err := st.DB().ExecContext(t.Context(), "UPDATE audit_records SET summary = ?, prev_hash = ?, hash = ? WHERE seq = ?",
			r.Summary, r.PrevHash, r.Hash, r.Seq); err != nil {
			t.Fatal(err)
		}
		prev = r.Hash
	}
	if _, err := st.DB().ExecContext(t.Context(), "UPDATE audit_chain SET head_hash = ? WHERE id = 1", prev); err != nil {
		t.Fatal(err)
	}
}
