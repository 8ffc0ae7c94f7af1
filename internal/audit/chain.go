package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// GenesisHash is the PrevHash of the first record ever appended.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// canonical is the hashed form of a record: fixed field order, UTC time
// with microsecond precision (what every supported database keeps), no hash.
type canonical struct {
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
}

// Canonical returns the canonical JSON form of r that its hash covers.
func Canonical(r Record) []byte {
	roles := r.Roles
	if roles == nil {
		roles = []string{}
	}
	b, _ := json.Marshal(canonical{ // cannot fail: strings and ints only
		Seq: r.Seq, Time: r.Time.UTC().Format(time.RFC3339Nano), Actor: r.Actor, Roles: roles,
		Tenant: r.Tenant, Project: r.Project, Action: r.Action, Target: r.Target, Outcome: r.Outcome,
		SourceIP: r.SourceIP, RequestID: r.RequestID, Summary: r.Summary,
	})
	return b
}

// HashOf returns hex SHA-256(prevHash bytes || Canonical(r)).
func HashOf(prevHash string, r Record) string {
	h := sha256.New()
	prev, err := hex.DecodeString(prevHash)
	if err != nil {
		prev = []byte(prevHash) // a corrupted prev hash still hashes, and then mismatches
	}
	h.Write(prev)
	h.Write(Canonical(r))
	return hex.EncodeToString(h.Sum(nil))
}

// Append adds a record for e by a at now to the chain, through the
// transaction-bound store st, so it commits with the change it describes.
// It records only the roles that bear on e (see relevantRoles), as a copy.
func Append(ctx context.Context, st Writer, now time.Time, a Actor, e Event) (Record, error) {
	chain, err := st.LockAuditChain(ctx)
	if err != nil {
		return Record{}, fmt.Errorf("lock audit chain: %w", err)
	}
	outcome := e.Outcome
	if outcome == "" {
		outcome = Success
	}
	r := Record{
		Seq: chain.HeadSeq + 1, Time: now.UTC().Truncate(time.Microsecond),
		Actor: a.User, Roles: relevantRoles(a.Roles, e.Tenant),
		Tenant: e.Tenant, Project: e.Project, Action: e.Action, Target: e.Target, Outcome: outcome,
		SourceIP: a.SourceIP, RequestID: a.RequestID, Summary: e.Summary,
		PrevHash: chain.HeadHash,
	}
	r.Hash = HashOf(r.PrevHash, r)
	if err := st.InsertAudit(ctx, r); err != nil {
		return Record{}, fmt.Errorf("append audit record %d: %w", r.Seq, err)
	}
	return r, nil
}
