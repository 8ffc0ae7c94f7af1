// Package audit keeps Berth's audit trail (F12): an append-only list of
// records, each hash-chained to the one before it so that any record
// altered, deleted or reordered in the database is found by Verify.
//
// Records are appended by the domain services inside the transaction of the
// change they describe ([Append] takes the transaction-bound store), so a
// change and its record commit or roll back together. A change that fails is
// rolled back; its failure record is appended afterwards in a transaction of
// its own (platform.Platform.Do does this).
//
// Chain: hash(n) = SHA-256(hash(n-1) || canonical JSON of record n without
// its hash). Pruning old records (retention, default 180 days) stores the
// hash of the last pruned record as the chain's base, so the remainder
// still verifies. See docs/adr/0004-audit-chain.md.
package audit

import (
	"context"
	"time"
)

// Outcome is what became of the audited action.
type Outcome string

// Outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure" // refused by validation, quota, conflict, or an error
	Denied  Outcome = "denied"  // refused by authentication or authorization
)

// Actor is who acts and from where; the API layer fills it from the request.
type Actor struct {
	User      string   // user name, or "system" for the platform itself
	Roles     []string // the actor's roles relevant to the action, e.g. "tenant-admin@acme"
	SourceIP  string
	RequestID string
}

// System is the actor for changes the platform makes on its own (bootstrap,
// pruning).
var System = Actor{User: "system"}

// Event is what a service reports happened; Append makes it a Record.
type Event struct {
	Tenant  string
	Project string
	Action  string // dotted, kind then verb: "tenant.create", "user.login"
	Target  string // the resource path: "tenants/acme/projects/payments"
	Outcome Outcome
	Summary string // human-readable, never containing secrets
}

// Record is one entry of the audit trail.
type Record struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Actor     string    `json:"actor"`
	Roles     []string  `json:"roles"`
	Tenant    string    `json:"tenant"`
	Project   string    `json:"project"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Outcome   Outcome   `json:"outcome"`
	SourceIP  string    `json:"sourceIP"`
	RequestID string    `json:"requestID"`
	Summary   string    `json:"summary"`
	PrevHash  string    `json:"prevHash"` // hex SHA-256 of the record before (the base after pruning)
	Hash      string    `json:"hash"`     // hex SHA-256 over PrevHash and the canonical form
}

// Chain is the state of the chain: its base (the last pruned record, or
// seq 0 and the genesis hash) and its head (the last record appended).
type Chain struct {
	BaseSeq  int64
	BaseHash string
	HeadSeq  int64
	HeadHash string
}

// Filter selects records; zero fields select everything.
type Filter struct {
	Actor   string
	Tenant  string
	Project string    // within Tenant: project names are per tenant
	Action  string    // exact action, or a prefix ending in "." such as "tenant."
	Since   time.Time // inclusive
	Until   time.Time // exclusive
}

// Query asks the store for one batch of records in sequence order.
type Query struct {
	Filter
	After int64 // exclusive cursor: seq > After ascending, seq < After descending; 0 = from the start
	Desc  bool  // newest first
	Limit int
}

// Writer is what appending needs from the transaction-bound store.
type Writer interface {
	// LockAuditChain returns the chain state and holds it (row lock on
	// PostgreSQL, the write lock on SQLite) until the transaction ends, so
	// appends are serialized.
	LockAuditChain(ctx context.Context) (Chain, error)
	// InsertAudit stores rec and makes it the chain's head.
	InsertAudit(ctx context.Context, rec Record) error
}

// Reader is what listing, exporting and verifying need.
type Reader interface {
	// AuditChain returns the chain state without locking it.
	AuditChain(ctx context.Context) (Chain, error)
	// ListAudit returns up to q.Limit records matching q in seq order.
	ListAudit(ctx context.Context, q Query) ([]Record, error)
}

// Store is everything the audit trail needs from persistence.
type Store interface {
	Writer
	Reader
	// FirstAuditSince returns the smallest seq of a record with time >= t,
	// or ok=false when there is none.
	FirstAuditSince(ctx context.Context, t time.Time) (seq int64, ok bool, err error)
	// PruneAudit deletes the records with seq <= through and makes
	// (through, hash) the chain's base; it returns how many it deleted.
	PruneAudit(ctx context.Context, through int64, hash string) (int64, error)
}
