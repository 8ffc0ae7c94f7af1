package audit

import (
	"testing"
	"time"
)

func TestCanonicalIsStable(t *testing.T) {
	r := Record{Seq: 7, Time: time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.FixedZone("CST", 8*3600)),
		Actor: "alice", Action: "tenant.create", Target: "tenants/acme", Outcome: Success, Hash: "ignored", PrevHash: "ignored"}
	want := `{"seq":7,"time":"2026-03-01T01:00:00.123456Z","actor":"alice","roles":[],"tenant":"","project":"","action":"tenant.create","target":"tenants/acme","outcome":"success","sourceIP":"","requestID":"","summary":""}`
	if got := string(Canonical(r)); got != want {
		t.Fatalf("Canonical =\n%s\nwant\n%s", got, want)
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := Record{Seq: 1, Time: time.Unix(0, 0), Actor: "a", Roles: []string{"r"}, Tenant: "t", Project: "p",
		Action: "x", Target: "y", Outcome: Success, SourceIP: "i", RequestID: "q", Summary: "s"}
	h := HashOf(GenesisHash, base)
	edits := map[string]func(*Record){
		"seq": func(r *Record) { r.Seq++ }, "time": func(r *Record) { r.Time = r.Time.Add(time.Microsecond) },
		"actor": func(r *Record) { r.Actor = "b" }, "roles": func(r *Record) { r.Roles = nil },
		"tenant": func(r *Record) { r.Tenant = "u" }, "project": func(r *Record) { r.Project = "" },
		"action": func(r *Record) { r.Action = "z" }, "target": func(r *Record) { r.Target = "" },
		"outcome": func(r *Record) { r.Outcome = Failure }, "sourceIP": func(r *Record) { r.SourceIP = "" },
		"requestID": func(r *Record) { r.RequestID = "" }, "summary": func(r *Record) { r.Summary = "S" },
	}
	for name, edit := range edits {
		r := base
		edit(&r)
		if HashOf(GenesisHash, r) == h {
			t.Errorf("editing %s leaves the hash unchanged", name)
		}
	}
	if HashOf(HashOf(GenesisHash, base), base) == h {
		t.Error("the previous hash is not covered")
	}
}
