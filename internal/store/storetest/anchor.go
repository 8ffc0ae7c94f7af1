package storetest

import (
	"context"
	"testing"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/platform"
)

func (h *harness) verifyAnchored(t *testing.T, anchors []audit.Anchor) audit.Report {
	t.Helper()
	var rep audit.Report
	h.view(t, func(tx platform.Tx) (err error) {
		rep, err = h.p.Audit.VerifyAnchored(t.Context(), tx, anchors)
		return err
	})
	return rep
}

// rewrite plays an attacker with write access to the database: it applies
// edit to the records from seq from on and recomputes the chain from there
// with the public hash function, so that plain verification passes.
func (h *harness) rewrite(t *testing.T, from int64, edit func(*audit.Record)) {
	t.Helper()
	var recs []audit.Record
	h.view(t, func(tx platform.Tx) error { recs = auditRecords(t, h, tx); return nil })
	prev := ""
	for _, r := range recs {
		if r.Seq < from {
			prev = r.Hash
			continue
		}
		if prev != "" {
			r.PrevHash = prev
		}
		edit(&r)
		r.Hash = audit.HashOf(r.PrevHash, r)
		h.exec(t, "UPDATE audit_records SET action = ?, summary = ?, prev_hash = ?, hash = ? WHERE seq = ?", r.Action, r.Summary, r.PrevHash, r.Hash, r.Seq)
		prev = r.Hash
	}
	h.exec(t, "UPDATE audit_chain SET head_hash = ? WHERE id = 1", prev)
}

func testAuditAnchors(t *testing.T, h *harness) {
	tests := []struct {
		name    string
		anchors []int64 // the records anchored before tampering
		tamper  func(t *testing.T, h *harness)
		want    audit.Break
	}{
		{"a record edited and the chain recomputed from the start", []int64{3, 6},
			func(t *testing.T, h *harness) {
				h.rewrite(t, 1, func(r *audit.Record) {
					if r.Seq == 2 {
						r.Summary = "nothing happened"
					}
				})
			},
			audit.Break{Seq: 3, Problem: "rewritten", Detail: "its hash differs from its anchor: the trail was rewritten at or before this record since the anchor"}},
		{"the last records deleted and the head moved back", []int64{6},
			func(t *testing.T, h *harness) {
				h.exec(t, "DELETE FROM audit_records WHERE seq > 4")
				h.exec(t, "UPDATE audit_chain SET head_seq = 4, head_hash = (SELECT hash FROM audit_records WHERE seq = 4) WHERE id = 1")
			},
			audit.Break{Seq: 6, Problem: "deleted", Detail: "anchored record 6 is past the head (record 4): records were deleted since the anchor"}},
		{"records deleted, the base moved and a prune record forged", []int64{2, 6},
			func(t *testing.T, h *harness) {
				h.exec(t, "UPDATE audit_chain SET base_seq = 3, base_hash = (SELECT hash FROM audit_records WHERE seq = 3) WHERE id = 1")
				h.exec(t, "DELETE FROM audit_records WHERE seq <= 3")
				var base string
				h.view(t, func(tx platform.Tx) error {
					c, err := tx.AuditChain(context.WithoutCancel(t.Context()))
					base = c.BaseHash
					return err
				})
				h.rewrite(t, 6, func(r *audit.Record) {
					r.Action = "audit.prune"
					r.Summary = "pruned 3 records older than 2026-01-01T00:00:00Z (through seq 3, hash " + base + ")"
				})
			},
			audit.Break{Seq: 6, Problem: "rewritten", Detail: "its hash differs from its anchor: the trail was rewritten at or before this record since the anchor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, h.freshStore(t))
			for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
				h.tenant(t, name)
			}
			var anchors []audit.Anchor
			h.view(t, func(tx platform.Tx) error {
				for _, r := range auditRecords(t, h, tx) {
					for _, seq := range tc.anchors {
						if r.Seq == seq {
							anchors = append(anchors, audit.Anchor{Seq: r.Seq, Hash: r.Hash})
						}
					}
				}
				return nil
			})
			if rep := h.verifyAnchored(t, anchors); !rep.OK() || rep.Anchored != len(tc.anchors) {
				t.Fatalf("before tampering: %+v", rep)
			}
			tc.tamper(t, h)
			if rep := h.verify(t); !rep.OK() {
				t.Fatalf("plain verify already finds the tampering (the test must rewrite consistently): %s", rep.Broken)
			}
			rep := h.verifyAnchored(t, anchors)
			if rep.Broken == nil {
				t.Fatalf("the rewrite went unnoticed with anchors: %+v", rep)
			}
			diff(t, "break", *rep.Broken, tc.want)
		})
	}
}
