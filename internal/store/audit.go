package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

const chainCols = "base_seq, base_hash, head_seq, head_hash"

// LockAuditChain implements audit.Writer. The transaction holds the lock
// until it ends, so the state read first is kept and moved by InsertAudit
// and PruneAudit instead of being read again.
func (tx *Tx) LockAuditChain(ctx context.Context) (audit.Chain, error) {
	if tx.chainState != nil {
		return *tx.chainState, nil
	}
	c, err := tx.chain(ctx, tx.d.forUpdate)
	if err != nil {
		return c, err
	}
	tx.chainState = &c
	return c, nil
}

// AuditChain implements audit.Reader.
func (tx *Tx) AuditChain(ctx context.Context) (audit.Chain, error) {
	return tx.chain(ctx, "")
}

func (tx *Tx) chain(ctx context.Context, suffix string) (audit.Chain, error) {
	var c audit.Chain
	err := tx.queryRow(ctx, "SELECT "+chainCols+" FROM audit_chain WHERE id = 1"+suffix).
		Scan(&c.BaseSeq, &c.BaseHash, &c.HeadSeq, &c.HeadHash)
	return c, notFound(tx, err)
}

const auditCols = "seq, time, actor, roles, tenant, project, action, target, outcome, source_ip, request_id, summary, prev_hash, hash"

// InsertAudit implements audit.Writer. In a write transaction that holds
// the chain (LockAuditChain, as audit.Append does), the record must follow
// the head; it is kept and written with the transaction's others just
// before the commit (flushStmts): one statement for a whole commit group
// instead of one per record. Reads of the trail inside the transaction do
// not see it.
func (tx *Tx) InsertAudit(ctx context.Context, r audit.Record) error {
	if !tx.write || tx.chainState == nil {
		return tx.insertAudit(ctx, []audit.Record{r})
	}
	if c := tx.chainState; r.Seq != c.HeadSeq+1 || r.PrevHash != c.HeadHash {
		return fmt.Errorf("audit record %d does not follow the chain's head %d: %w", r.Seq, c.HeadSeq, resource.ErrConflict)
	}
	tx.pendingAudit = append(tx.pendingAudit, r)
	tx.chainState.HeadSeq, tx.chainState.HeadHash = r.Seq, r.Hash
	return nil
}

// flushStmts are the statements that write the records InsertAudit kept,
// run before the commit.
func (tx *Tx) flushStmts() ([]stmt, error) {
	var out []stmt
	for recs := tx.pendingAudit; len(recs) > 0; recs = recs[min(len(recs), flushRows):] {
		sts, err := tx.d.auditStmts(recs[:min(len(recs), flushRows)])
		if err != nil {
			return nil, err
		}
		out = append(out, sts...)
	}
	return out, nil
}

// flushRows bounds the records one statement inserts (14 parameters each
// on SQLite).
const flushRows = 256

// insertAudit stores recs at once.
func (tx *Tx) insertAudit(ctx context.Context, recs []audit.Record) error {
	sts, err := tx.d.auditStmts(recs)
	if err != nil {
		return err
	}
	for _, st := range sts {
		if _, err := tx.exec(ctx, st.q, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// auditStmts store recs, in chain order, and make the last the chain's
// head: one statement on PostgreSQL (arrays unnested in a data-modifying
// CTE), two on SQLite (in-process, no round trips to save). Their
// placeholders are rebound for the dialect.
func (d *dialect) auditStmts(recs []audit.Record) ([]stmt, error) {
	cols := make([][]any, 14)
	for _, r := range recs {
		roles, err := json.Marshal(r.Roles)
		if err != nil {
			return nil, fmt.Errorf("encode roles: %w", err)
		}
		if r.Roles == nil {
			roles = []byte("[]")
		}
		for i, v := range []any{r.Seq, r.Time.UnixMicro(), r.Actor, string(roles), r.Tenant, r.Project, r.Action, r.Target,
			string(r.Outcome), r.SourceIP, r.RequestID, r.Summary, r.PrevHash, r.Hash} {
			cols[i] = append(cols[i], v)
		}
	}
	last := recs[len(recs)-1]
	if d.dollar {
		args := []any{column[int64](cols[0]), column[int64](cols[1])}
		for _, c := range cols[2:] {
			args = append(args, column[string](c))
		}
		return []stmt{{q: d.rebind(insertAuditPostgres), args: append(args, last.Seq, last.Hash)}}, nil
	}
	var args []any
	for i := range recs {
		for _, c := range cols {
			args = append(args, c[i])
		}
	}
	return []stmt{
		{q: insertAuditValues + strings.Repeat(", "+auditRow, len(recs)-1), args: args},
		{q: updateAuditHead, args: []any{last.Seq, last.Hash}},
	}, nil
}

// column converts one column's values to a typed slice (a PostgreSQL array).
func column[T any](vs []any) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = v.(T)
	}
	return out
}

const (
	auditRow            = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	insertAuditValues   = "INSERT INTO audit_records (" + auditCols + ") VALUES " + auditRow
	updateAuditHead     = "UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1"
	insertAuditPostgres = "WITH ins AS (INSERT INTO audit_records (" + auditCols + ") SELECT * FROM unnest(" +
		"?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], " +
		"?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])) " + updateAuditHead
)

// ListAudit implements audit.Reader.
func (tx *Tx) ListAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) { conds = append(conds, cond); args = append(args, a...) }
	switch {
	case q.After > 0 && q.Desc:
		add("seq < ?", q.After)
	case q.After > 0:
		add("seq > ?", q.After)
	}
	if q.Actor != "" {
		add("actor = ?", q.Actor)
	}
	if q.Tenant != "" {
		add("tenant = ?", q.Tenant)
	}
	if q.Project != "" {
		add("project = ?", q.Project)
	}
	switch {
	case strings.HasSuffix(q.Action, "."):
		add("substr(action, 1, ?) = ?", len(q.Action), q.Action)
	case q.Action != "":
		add("action = ?", q.Action)
	}
	if !q.Since.IsZero() {
		add("time >= ?", q.Since.UnixMicro())
	}
	if !q.Until.IsZero() {
		add("time < ?", q.Until.UnixMicro())
	}
	sqlq := "SELECT " + tx.d.packedAuditCols + " FROM audit_records"
	if len(conds) > 0 {
		sqlq += " WHERE " + strings.Join(conds, " AND ")
	}
	sqlq += " ORDER BY seq"
	if q.Desc {
		sqlq += " DESC"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = resource.DefaultLimit
	}
	sqlq += " LIMIT ?"
	args = append(args, limit)
	rows, err := tx.query(ctx, sqlq, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]audit.Record, 0, min(limit, 1024))
	var unpacked []int // records whose text holds the separator
	for rows.Next() {
		r, ok, err := scanPacked(rows)
		if err != nil {
			return nil, tx.d.translate(err)
		}
		if !ok {
			unpacked = append(unpacked, len(out))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.d.translate(err)
	}
	rows.Close()
	for _, i := range unpacked {
		if out[i], err = tx.auditRecord(ctx, out[i].Seq); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Reading a record's twelve text columns as one, joined by the unit
// separator (U+001F), makes a row three columns instead of fourteen: a
// third of the time Verify spends reading on SQLite, where every column
// fetched takes the connection's mutex. A record whose text holds the
// separator itself is read again column by column.
const (
	unitSep   = "\x1f"
	textCols  = "actor, roles, tenant, project, action, target, outcome, source_ip, request_id, summary, prev_hash, hash"
	textCount = 12
)

// packedAuditCols is the select list of a packed read; sep is the SQL for
// the separator.
func packedAuditCols(sep string) string {
	return "seq, time, " + strings.ReplaceAll(textCols, ", ", " || "+sep+" || ")
}

// scanPacked scans a packed row; ok=false when the separators do not
// split it into the twelve columns unambiguously.
func scanPacked(rows rows) (r audit.Record, ok bool, err error) {
	var t int64
	var packed string
	if err := rows.Scan(&r.Seq, &t, &packed); err != nil {
		return r, false, err
	}
	if strings.Count(packed, unitSep) != textCount-1 {
		return r, false, nil
	}
	var roles, outcome string
	for _, f := range []*string{&r.Actor, &roles, &r.Tenant, &r.Project, &r.Action, &r.Target, &outcome,
		&r.SourceIP, &r.RequestID, &r.Summary, &r.PrevHash} {
		*f, packed, _ = strings.Cut(packed, unitSep)
	}
	r.Hash = packed
	decodeAudit(&r, t, roles, outcome)
	return r, true, nil
}

// auditRecord reads record seq column by column.
func (tx *Tx) auditRecord(ctx context.Context, seq int64) (audit.Record, error) {
	rows, err := tx.query(ctx, "SELECT "+auditCols+" FROM audit_records WHERE seq = ?", seq)
	if err != nil {
		return audit.Record{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return audit.Record{}, tx.d.translate(err)
		}
		return audit.Record{}, fmt.Errorf("audit record %d: %w", seq, resource.ErrNotFound)
	}
	r, err := scanAudit(rows)
	return r, tx.d.translate(err)
}

func scanAudit(rows rows) (audit.Record, error) {
	var r audit.Record
	var t int64
	var roles, outcome string
	if err := rows.Scan(&r.Seq, &t, &r.Actor, &roles, &r.Tenant, &r.Project, &r.Action, &r.Target, &outcome,
		&r.SourceIP, &r.RequestID, &r.Summary, &r.PrevHash, &r.Hash); err != nil {
		return r, err
	}
	decodeAudit(&r, t, roles, outcome)
	return r, nil
}

// decodeAudit sets the fields of r stored encoded.
func decodeAudit(r *audit.Record, t int64, roles, outcome string) {
	r.Time = time.UnixMicro(t).UTC()
	r.Outcome = audit.Outcome(outcome)
	if rs, ok := plainRoles(roles); ok {
		r.Roles = rs
	} else if err := json.Unmarshal([]byte(roles), &r.Roles); err != nil {
		// A tampered roles column must not stop verification: keep the raw
		// text so the record's hash mismatches and Verify names it.
		r.Roles = []string{roles}
	}
}

// plainRoles decodes the roles column as json.Unmarshal would when it is
// what InsertAudit writes for plain role names (["a","b"]: no escapes,
// control characters or invalid UTF-8) without the cost of reflection on
// every row Verify reads; ok=false leaves anything else to json.Unmarshal.
func plainRoles(s string) (_ []string, ok bool) {
	if s == "[]" {
		return []string{}, true
	}
	if len(s) < 4 || !strings.HasPrefix(s, `["`) || !strings.HasSuffix(s, `"]`) || !utf8.ValidString(s) {
		return nil, false
	}
	inner := s[2 : len(s)-2]
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c < 0x20 || c == '\\' {
			return nil, false
		}
	}
	out := strings.Split(inner, `","`)
	for _, r := range out {
		if strings.Contains(r, `"`) {
			return nil, false
		}
	}
	return out, true
}

// FirstAuditSince implements audit.Store.
func (tx *Tx) FirstAuditSince(ctx context.Context, t time.Time) (int64, bool, error) {
	var seq sql.NullInt64
	err := tx.queryRow(ctx, "SELECT MIN(seq) FROM audit_records WHERE time >= ?", t.UnixMicro()).Scan(&seq)
	if err != nil {
		return 0, false, tx.d.translate(err)
	}
	return seq.Int64, seq.Valid, nil
}

// PruneAudit implements audit.Store.
func (tx *Tx) PruneAudit(ctx context.Context, through int64, hash string) (int64, error) {
	res, err := tx.exec(ctx, "DELETE FROM audit_records WHERE seq <= ?", through)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, tx.d.translate(err)
	}
	res, err = tx.exec(ctx, "UPDATE audit_chain SET base_seq = ?, base_hash = ? WHERE id = 1 AND head_seq >= ?", through, hash, through)
	if err != nil {
		return 0, err
	}
	if m, err := res.RowsAffected(); err != nil || m != 1 {
		return 0, errors.New("prune beyond the chain's head")
	}
	if tx.chainState != nil {
		tx.chainState.BaseSeq, tx.chainState.BaseHash = through, hash
	}
	return n, nil
}
