package platform

import (
	"context"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
)

// auditFeed is a Transactor whose read-write transactions announce every
// audit record they append (change.Audit) once they commit, whichever
// service appended it: the live event stream shows the audit trail as it
// grows without each of the many callers of audit.Append publishing.
type auditFeed struct {
	Transactor
	changes *change.Bus
}

// InTx runs fn with a transaction that publishes its audit records after
// commit.
func (f auditFeed) InTx(ctx context.Context, fn func(Tx) error) error {
	return f.Transactor.InTx(ctx, func(tx Tx) error { return fn(auditTx{Tx: tx, changes: f.changes}) })
}

// auditTx is a transaction-bound store that publishes each inserted audit
// record after commit.
type auditTx struct {
	Tx
	changes *change.Bus
}

// InsertAudit stores r and, once the transaction commits, publishes it.
func (tx auditTx) InsertAudit(ctx context.Context, r audit.Record) error {
	if err := tx.Tx.InsertAudit(ctx, r); err != nil {
		return err
	}
	tx.changes.AfterCommit(tx.Tx, change.Changed{Kind: change.Audit,
		Key: change.Key{Tenant: r.Tenant, Project: r.Project, Name: r.Action, Seq: r.Seq}})
	return nil
}
