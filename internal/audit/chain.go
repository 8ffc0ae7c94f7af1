package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// GenesisHash is the PrevHash of the first record ever appended.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// Canonical returns the canonical JSON form of r that its hash covers:
// fixed field order, UTC time with microsecond precision (what every
// supported database keeps), no hash; strings quoted as encoding/json
// quotes them (HTML characters escaped).
func Canonical(r Record) []byte { return appendCanonical(nil, r) }

// appendCanonical appends Canonical(r) to b without reflection: Verify
// hashes every record of the trail.
func appendCanonical(b []byte, r Record) []byte {
	b = strconv.AppendInt(append(b, `{"seq":`...), r.Seq, 10)
	b = append(r.Time.UTC().AppendFormat(append(b, `,"time":"`...), time.RFC3339Nano), '"')
	b = appendString(append(b, `,"actor":`...), r.Actor)
	b = append(b, `,"roles":[`...)
	for i, role := range r.Roles {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, role)
	}
	b = appendString(append(b, `],"tenant":`...), r.Tenant)
	b = appendString(append(b, `,"project":`...), r.Project)
	b = appendString(append(b, `,"action":`...), r.Action)
	b = appendString(append(b, `,"target":`...), r.Target)
	b = appendString(append(b, `,"outcome":`...), string(r.Outcome))
	b = appendString(append(b, `,"sourceIP":`...), r.SourceIP)
	b = appendString(append(b, `,"requestID":`...), r.RequestID)
	b = appendString(append(b, `,"summary":`...), r.Summary)
	return append(b, '}')
}

// appendString appends s quoted as json.Marshal quotes it: printable ASCII
// that needs no escape as it is, anything else through json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // cannot fail: a string
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// HashOf returns hex SHA-256(prevHash bytes || Canonical(r)).
func HashOf(prevHash string, r Record) string {
	buf := make([]byte, 0, 512)
	buf, err := hex.AppendDecode(buf, []byte(prevHash))
	if err != nil {
		buf = append(buf[:0], prevHash...) // a corrupted prev hash still hashes, and then mismatches
	}
	sum := sha256.Sum256(appendCanonical(buf, r))
	return hex.EncodeToString(sum[:])
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
