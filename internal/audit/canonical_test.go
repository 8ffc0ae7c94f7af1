package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

// referenceCanonical is Canonical as first written, through encoding/json:
// the appender must produce the same bytes, or every stored hash breaks.
func referenceCanonical(r Record) []byte {
	roles := r.Roles
	if roles == nil {
		roles = []string{}
	}
	b, _ := json.Marshal(struct {
		Seq       int64    `json:"seq"`
		Time      string   `json:"time"`
		Actor     string   `json:"actor"`
		Roles     []string `json:"roles"`
		Tenant    string   `json:"tenant"`
		Project   string   `json:"project"`
		Action    string   `json:"action"`
		Target    string   `json:"target"`
		Outcome   Outcome  `json:"outcome"`
		SourceIP  string   `json:"sourceIP"`
		RequestID string   `json:"requestID"`
		Summary   string   `json:"summary"`
	}{r.Seq, r.Time.UTC().Format(time.RFC3339Nano), r.Actor, roles, r.Tenant, r.Project, r.Action, r.Target, r.Outcome,
		r.SourceIP, r.RequestID, r.Summary})
	return b
}

func referenceHashOf(prevHash string, r Record) string {
	h := sha256.New()
	prev, err := hex.DecodeString(prevHash)
	if err != nil {
		prev = []byte(prevHash)
	}
	h.Write(prev)
	h.Write(referenceCanonical(r))
	return hex.EncodeToString(h.Sum(nil))
}

func FuzzCanonicalMatchesEncodingJSON(f *testing.F) {
	f.Add(int64(7), int64(1772355600123456), "alice", "tenant-admin@acme", "", "acme", "payments", "tenant.create",
		"tenants/acme", "success", "10.0.0.1", "req-1", "created tenant <acme> & \"co\"", GenesisHash)
	f.Add(int64(-1), int64(0), "\x00\u2028\xff", "a\\b", "é", "\t\n\r\b\f", "", "", "", "", "", "", "", "zz")
	f.Fuzz(func(t *testing.T, seq, micros int64, actor, role1, role2, tenant, project, action, target, outcome, ip, req, summary, prev string) {
		r := Record{Seq: seq, Time: time.UnixMicro(micros), Actor: actor, Tenant: tenant, Project: project, Action: action,
			Target: target, Outcome: Outcome(outcome), SourceIP: ip, RequestID: req, Summary: summary}
		for _, roles := range [][]string{nil, {}, {role1}, {role1, role2}} {
			r.Roles = roles
			if got, want := string(Canonical(r)), string(referenceCanonical(r)); got != want {
				t.Fatalf("Canonical =\n%s\nwant\n%s", got, want)
			}
			if got, want := HashOf(prev, r), referenceHashOf(prev, r); got != want {
				t.Fatalf("HashOf(%q) = %s, want %s", prev, got, want)
			}
		}
	})
}
