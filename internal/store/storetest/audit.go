package storetest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// auditRecords returns the whole trail, oldest first.
func auditRecords(t *testing.T, h *harness, tx platform.Tx) []audit.Record {
	t.Helper()
	var out []audit.Record
	if err := h.p.Audit.Each(t.Context(), tx, audit.Filter{}, func(r audit.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func (h *harness) verify(t *testing.T) audit.Report {
	t.Helper()
	var rep audit.Report
	h.view(t, func(tx platform.Tx) (err error) { rep, err = h.p.Audit.Verify(t.Context(), tx); return err })
	return rep
}

func testAuditPerChange(t *testing.T, h *harness) {
	ctx := t.Context()
	h.tenant(t, "acme")
	h.clock.Advance(time.Second)
	h.project(t, "acme", "payments")
	// a transaction that fails takes its records with it
	_ = h.st.InTx(ctx, func(tx platform.Tx) error {
		if _, err := h.p.Tenancy.CreateProject(ctx, tx, h.admin, tenancy.Project{Tenant: "acme", Name: "loans"}); err != nil {
			return err
		}
		return fmt.Errorf("give up")
	})
	h.view(t, func(tx platform.Tx) error {
		recs := auditRecords(t, h, tx)
		type row struct {
			Seq                                                               int64
			Time                                                              time.Time
			Actor, Tenant, Project, Action, Target, Outcome, IP, Req, Summary string
			Roles                                                             []string
		}
		var got []row
		for _, r := range recs {
			got = append(got, row{r.Seq, r.Time, r.Actor, r.Tenant, r.Project, r.Action, r.Target, string(r.Outcome), r.SourceIP, r.RequestID, r.Summary, r.Roles})
		}
		diff(t, "records", got, []row{
			{1, T0, "alice", "acme", "", "tenant.create", "tenants/acme", "success", "10.0.0.1", "req-1", "created tenant acme", []string{"platform-admin"}},
			{2, T0.Add(time.Second), "alice", "acme", "payments", "project.create", "tenants/acme/projects/payments", "success", "10.0.0.1", "req-1", "created project acme/payments", []string{"platform-admin"}},
		})
		diff(t, "chain link", recs[1].PrevHash, recs[0].Hash)
		diff(t, "first link", recs[0].PrevHash, audit.GenesisHash)
		return nil
	})
	rep := h.verify(t)
	if !rep.OK() || rep.Checked != 2 {
		t.Fatalf("verify: %+v", rep)
	}
}

func testAuditListExport(t *testing.T, h *harness) {
	ctx := t.Context()
	for i, name := range []string{"acme", "bolt", "core"} {
		h.clock.Set(T0.Add(time.Duration(i) * time.Hour))
		h.tenant(t, name)
	}
	h.project(t, "acme", "payments") // at T0+2h
	h.view(t, func(tx platform.Tx) error {
		tests := []struct {
			name   string
			filter audit.Filter
			want   []int64
		}{
			{"no filter lists newest first", audit.Filter{}, []int64{4, 3, 2, 1}},
			{"by tenant", audit.Filter{Tenant: "acme"}, []int64{4, 1}},
			{"by action", audit.Filter{Action: "project.create"}, []int64{4}},
			{"by project of a tenant", audit.Filter{Tenant: "acme", Project: "payments"}, []int64{4}},
			{"by a same-named project of another tenant", audit.Filter{Tenant: "bolt", Project: "payments"}, nil},
			{"by action prefix", audit.Filter{Action: "tenant."}, []int64{3, 2, 1}},
			{"by actor", audit.Filter{Actor: "mallory"}, nil},
			{"by time range", audit.Filter{Since: T0.Add(time.Hour), Until: T0.Add(2 * time.Hour)}, []int64{2}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				page := must[resource.Page[audit.Record]](t)(h.p.Audit.List(ctx, tx, tc.filter, resource.ListOptions{}))
				var got []int64
				for _, r := range page.Items {
					got = append(got, r.Seq)
				}
				diff(t, "seqs", got, tc.want)
			})
		}
		p1 := must[resource.Page[audit.Record]](t)(h.p.Audit.List(ctx, tx, audit.Filter{}, resource.ListOptions{Limit: 3}))
		p2 := must[resource.Page[audit.Record]](t)(h.p.Audit.List(ctx, tx, audit.Filter{}, resource.ListOptions{Limit: 3, Continue: p1.Continue}))
		diff(t, "second page", []int64{p2.Items[0].Seq}, []int64{1})
		diff(t, "last page has no token", p2.Continue, "")

		var jl bytes.Buffer
		if err := h.p.Audit.Export(ctx, tx, audit.Filter{Tenant: "acme"}, audit.JSONLines, &jl); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(jl.String()), "\n")
		var first audit.Record
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		diff(t, "jsonl", []any{len(lines), first.Action, first.Hash != ""}, []any{2, "tenant.create", true})

		var cv bytes.Buffer
		if err := h.p.Audit.Export(ctx, tx, audit.Filter{}, audit.CSV, &cv); err != nil {
			t.Fatal(err)
		}
		rows := must[[][]string](t)(csv.NewReader(&cv).ReadAll())
		diff(t, "csv header", rows[0], audit.CSVHeader)
		diff(t, "csv rows", len(rows), 5)
		diff(t, "csv first record", rows[1][:3], []string{"1", "2026-03-01T09:00:00Z", "alice"})
		return nil
	})
}

func testAuditTamper(t *testing.T, h *harness) {
	tests := []struct {
		name   string
		tamper []string
		want   audit.Break
	}{
		{"an edited summary", []string{"UPDATE audit_records SET summary = 'nothing happened' WHERE seq = 3"},
			audit.Break{Seq: 3, Problem: "altered", Detail: "its contents do not match its hash"}},
		{"an edited actor with a recomputed-looking hash", []string{"UPDATE audit_records SET actor = 'bob', hash = prev_hash WHERE seq = 4"},
			audit.Break{Seq: 4, Problem: "altered", Detail: "its contents do not match its hash"}},
		{"a deleted record", []string{"DELETE FROM audit_records WHERE seq = 3"},
			audit.Break{Seq: 3, Problem: "deleted", Detail: "record 3 is missing; the next one is 4"}},
		{"a deleted last record", []string{"DELETE FROM audit_records WHERE seq = 6"},
			audit.Break{Seq: 6, Problem: "deleted", Detail: "the chain ends at record 5 but its head is record 6"}},
		{"a record forged after the head", []string{"INSERT INTO audit_records SELECT seq + 1, time, actor, roles, tenant, project, action, target, outcome, source_ip, request_id, summary, hash, hash FROM audit_records WHERE seq = 6"},
			audit.Break{Seq: 7, Problem: "altered", Detail: "its contents do not match its hash"}},
		{"the base moved forward over deleted records", []string{
			"UPDATE audit_chain SET base_seq = 3, base_hash = (SELECT prev_hash FROM audit_records WHERE seq = 4) WHERE id = 1",
			"DELETE FROM audit_records WHERE seq <= 3"},
			audit.Break{Seq: 3, Problem: "deleted", Detail: "the chain starts after record 3 but no audit.prune record in it names that record and its hash: records up to 3 were deleted outside Berth"}},
		{"the base moved forward over every record", []string{
			"UPDATE audit_chain SET base_seq = 6, base_hash = head_hash WHERE id = 1",
			"DELETE FROM audit_records"},
			audit.Break{Seq: 6, Problem: "deleted", Detail: "the chain starts after record 6 but no audit.prune record in it names that record and its hash: records up to 6 were deleted outside Berth"}},
		{"the genesis hash replaced", []string{
			"UPDATE audit_chain SET base_hash = (SELECT hash FROM audit_records WHERE seq = 1) WHERE id = 1"},
			audit.Break{Seq: 1, Problem: "altered", Detail: "the chain's base is not the genesis hash although nothing was pruned"}},
		{"two records swapped", []string{
			"UPDATE audit_records SET seq = -1 WHERE seq = 3",
			"UPDATE audit_records SET seq = 3 WHERE seq = 4",
			"UPDATE audit_records SET seq = 4 WHERE seq = -1"},
			audit.Break{Seq: 3, Problem: "reordered", Detail: "it does not follow the record before it (its previous hash differs): a record before it was deleted or records were moved"}},
		{"a record deleted and the rest renumbered", []string{
			"DELETE FROM audit_records WHERE seq = 2",
			"UPDATE audit_records SET seq = seq - 1 WHERE seq > 2"},
			audit.Break{Seq: 2, Problem: "reordered", Detail: "it does not follow the record before it (its previous hash differs): a record before it was deleted or records were moved"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, h.freshStore(t))
			for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
				h.tenant(t, name)
			}
			if rep := h.verify(t); !rep.OK() || rep.Checked != 6 {
				t.Fatalf("before tampering: %+v", rep)
			}
			for _, q := range tc.tamper {
				h.exec(t, q)
			}
			rep := h.verify(t)
			if rep.Broken == nil {
				t.Fatalf("tampering went unnoticed: %+v", rep)
			}
			diff(t, "break", *rep.Broken, tc.want)
		})
	}
}

func testAuditPrune(t *testing.T, h *harness) {
	ctx := t.Context()
	for i, name := range []string{"a", "b", "c", "d"} {
		h.clock.Set(T0.Add(time.Duration(i) * 100 * 24 * time.Hour)) // days 0, 100, 200, 300
		h.tenant(t, name)
	}
	// day 300: retention 180 days keeps records of day 120 and later
	m, err := h.p.Maintain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "pruned", m.AuditPruned, int64(2))
	rep := h.verify(t)
	if !rep.OK() {
		t.Fatalf("after pruning: %s", rep.Broken)
	}
	diff(t, "remaining", []int64{rep.From, rep.To, rep.Checked}, []int64{3, 5, 3})
	h.view(t, func(tx platform.Tx) error {
		recs := auditRecords(t, h, tx)
		diff(t, "prune record", recs[len(recs)-1].Action, "audit.prune")
		return nil
	})
	h.view(t, func(tx platform.Tx) error {
		recs := auditRecords(t, h, tx)
		through, ok := audit.PrunedThrough(recs[len(recs)-1])
		diff(t, "base named by the prune record", []any{through.Seq, ok}, []any{int64(2), true})
		return nil
	})
	h.exec(t, "DELETE FROM audit_records WHERE seq = 3")
	rep = h.verify(t)
	if rep.Broken == nil || rep.Broken.Seq != 3 {
		t.Fatalf("deleting the first record after the checkpoint: got %+v, want record 3 named", rep)
	}
}

// testAuditPruneMovesTheBaseOnlyThroughItsRecord: after a real prune, the
// base moved further, or the prune record edited to name it, fails.
func testAuditPruneMovesTheBaseOnlyThroughItsRecord(t *testing.T, h *harness) {
	for i, name := range []string{"a", "b", "c", "d"} {
		h.clock.Set(T0.Add(time.Duration(i) * 100 * 24 * time.Hour)) // days 0, 100, 200, 300
		h.tenant(t, name)
	}
	if _, err := h.p.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rep := h.verify(t); !rep.OK() {
		t.Fatalf("after pruning: %s", rep.Broken)
	}
	// records 3, 4 and the prune record 5 remain; base is record 2
	h.exec(t, "UPDATE audit_chain SET base_seq = 3, base_hash = (SELECT hash FROM audit_records WHERE seq = 3) WHERE id = 1")
	h.exec(t, "DELETE FROM audit_records WHERE seq = 3")
	rep := h.verify(t)
	if rep.Broken == nil {
		t.Fatalf("the base moved past the prune record's went unnoticed: %+v", rep)
	}
	diff(t, "break", *rep.Broken, audit.Break{Seq: 3, Problem: "deleted",
		Detail: "the chain starts after record 3 but no audit.prune record in it names that record and its hash: records up to 3 were deleted outside Berth"})
}

// testAuditSeparatorInText appends records whose text holds the unit
// separator the store joins a record's columns with when it reads them:
// they are read back intact, around plain ones, and verify.
func testAuditSeparatorInText(t *testing.T, h *harness) {
	ctx := t.Context()
	actor := audit.Actor{User: "eve\x1f\x1f", Roles: []string{"platform-admin"}}
	var want []audit.Record
	h.tx(t, func(tx platform.Tx) error {
		for _, summary := range []string{"plain", "one\x1fseparator", "plain again", "\x1f"} {
			r, err := audit.Append(ctx, tx, T0, actor, audit.Event{Action: "test.separator", Target: "x", Summary: summary})
			if err != nil {
				return err
			}
			want = append(want, r)
		}
		return nil
	})
	h.view(t, func(tx platform.Tx) error {
		diff(t, "records", auditRecords(t, h, tx), want)
		return nil
	})
	if rep := h.verify(t); !rep.OK() || rep.Checked != 4 {
		t.Fatalf("verify: %+v", rep)
	}
}
