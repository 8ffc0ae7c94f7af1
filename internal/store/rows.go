package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"berth.dev/berth/internal/resource"
)

// table describes a resource table: its key columns (the last one orders
// lists within the others) and any extra indexed columns written beside
// the JSON body.
type table struct {
	name  string
	keys  []string
	extra []string
}

var (
	tenantsT      = table{name: "tenants", keys: []string{"name"}}
	projectsT     = table{name: "projects", keys: []string{"tenant", "name"}}
	clustersT     = table{name: "clusters", keys: []string{"name"}}
	environmentsT = table{name: "environments", keys: []string{"tenant", "project", "name"}, extra: []string{"cluster", "namespace"}}
	membersT      = table{name: "members", keys: []string{"tenant", "project", "name"}, extra: []string{"usr"}}
	quotasT       = table{name: "quotas", keys: []string{"tenant", "project"}}
	tiersT        = table{name: "tiers", keys: []string{"name"}}
	applicationsT = table{name: "applications", keys: []string{"tenant", "project", "name"}}
	versionsT     = table{name: "versions", keys: []string{"tenant", "project", "application", "name"}, extra: []string{"tier"}}
	usersT        = table{name: "users", keys: []string{"name"}}
	tokensT       = table{name: "tokens", keys: []string{"usr", "name"}, extra: []string{"secret_hash"}}
	sessionsT     = table{name: "sessions", keys: []string{"usr", "name"}, extra: []string{"secret_hash", "expires_at"}}
)

func (t table) where(cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c + " = ?"
	}
	return strings.Join(parts, " AND ")
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx, pre, err := tx.stmtStart(ctx)
	if err != nil {
		return nil, err
	}
	res, err := tx.c.exec(ctx, pre, tx.d.rebind(q), args)
	tx.stmtSent(pre, err)
	return res, tx.d.translate(err)
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (rows, error) {
	ctx, pre, err := tx.stmtStart(ctx)
	if err != nil {
		return nil, err
	}
	r, err := tx.c.query(ctx, pre, tx.d.rebind(q), args)
	tx.stmtSent(pre, err)
	return r, tx.d.translate(err)
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) row {
	r, err := tx.query(ctx, q, args...)
	return row{rows: r, err: err}
}

// stmtStart prepares a statement: its context and the statements due
// before it (the member's savepoint, see runMember). In a write
// transaction a done ctx refuses the statement, but one not yet done
// cannot cancel it midway, which would break the connection the group's
// other members share.
func (tx *Tx) stmtStart(ctx context.Context) (context.Context, []stmt, error) {
	if err := ctx.Err(); err != nil {
		return ctx, nil, err
	}
	if !tx.write {
		return ctx, nil, nil
	}
	var pre []stmt
	if tx.savepoint == savepointDue {
		pre = savepointStmt
	}
	return context.WithoutCancel(ctx), pre, nil
}

// stmtSent records whether the statements sent before one ran.
func (tx *Tx) stmtSent(pre []stmt, err error) {
	if len(pre) == 0 {
		return
	}
	var pe *preError
	if errors.As(err, &pe) {
		tx.savepoint = savepointFailed
		return
	}
	tx.savepoint = savepointSet
}

// insert stores a new row; a duplicate key or unique column is
// resource.ErrAlreadyExists, a missing parent resource.ErrNotFound.
func (tx *Tx) insert(ctx context.Context, t table, keys, extra []any, rv int64, obj any) error {
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode %s: %w", t.name, err)
	}
	cols := append(append(append([]string{}, t.keys...), t.extra...), "rv", "body")
	args := append(append(append([]any{}, keys...), extra...), rv, string(body))
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT DO NOTHING",
		t.name, strings.Join(cols, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
	res, err := tx.exec(ctx, q, args...)
	if errors.Is(err, errForeignKey) {
		return errors.Join(resource.ErrNotFound, err)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return resource.ErrAlreadyExists
	}
	return nil
}

// get decodes the body of the row with keys into out.
func (tx *Tx) get(ctx context.Context, t table, out any, keys ...any) error {
	var body string
	err := tx.queryRow(ctx, "SELECT body FROM "+t.name+" WHERE "+t.where(t.keys), keys...).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return resource.ErrNotFound
	}
	if err != nil {
		return tx.d.translate(err)
	}
	return decode(t, body, out)
}

func decode(t table, body string, out any) error {
	if err := json.Unmarshal([]byte(body), out); err != nil {
		return fmt.Errorf("decode %s: %w", t.name, err)
	}
	return nil
}

// update rewrites the row with keys if its rv is still prevRV: otherwise
// resource.ErrConflict, or resource.ErrNotFound when it is gone.
func (tx *Tx) update(ctx context.Context, t table, keys, extra []any, prevRV, rv int64, obj any) error {
	body, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode %s: %w", t.name, err)
	}
	set := []string{"rv = ?", "body = ?"}
	args := []any{rv, string(body)}
	for i, c := range t.extra {
		set = append(set, c+" = ?")
		args = append(args, extra[i])
	}
	args = append(append(args, keys...), prevRV)
	q := fmt.Sprintf("UPDATE %s SET %s WHERE %s AND rv = ?", t.name, strings.Join(set, ", "), t.where(t.keys))
	res, err := tx.exec(ctx, q, args...)
	if errors.Is(err, errForeignKey) {
		return errors.Join(resource.ErrNotFound, err)
	}
	if err != nil {
		return err
	}
	return tx.affected(ctx, t, res, keys)
}

// del deletes the row with keys; prevRV 0 skips the version check.
func (tx *Tx) del(ctx context.Context, t table, keys []any, prevRV int64) error {
	q := "DELETE FROM " + t.name + " WHERE " + t.where(t.keys)
	args := keys
	if prevRV != 0 {
		q += " AND rv = ?"
		args = append(append([]any{}, keys...), prevRV)
	}
	res, err := tx.exec(ctx, q, args...)
	if errors.Is(err, errForeignKey) {
		return errors.Join(resource.ErrInUse, err)
	}
	if err != nil {
		return err
	}
	return tx.affected(ctx, t, res, keys)
}

// affected turns "no row changed" into ErrNotFound or ErrConflict.
func (tx *Tx) affected(ctx context.Context, t table, res sql.Result, keys []any) error {
	n, err := res.RowsAffected()
	if err != nil {
		return tx.d.translate(err)
	}
	if n > 0 {
		return nil
	}
	ok, err := tx.exists(ctx, t.name, t.where(t.keys), keys...)
	if err != nil {
		return err
	}
	if ok {
		return resource.ErrConflict
	}
	return resource.ErrNotFound
}

// exists reports whether a row of tbl matches cond.
func (tx *Tx) exists(ctx context.Context, tbl, cond string, args ...any) (bool, error) {
	var one int
	err := tx.queryRow(ctx, "SELECT 1 FROM "+tbl+" WHERE "+cond+" LIMIT 1", args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, tx.d.translate(err)
}

// inUse fails with resource.ErrInUse when a row of tbl matches cond.
func (tx *Tx) inUse(ctx context.Context, what, tbl, cond string, args ...any) error {
	ok, err := tx.exists(ctx, tbl, cond, args...)
	if err != nil {
		return err
	}
	if ok {
		return fmt.Errorf("%w: %s", resource.ErrInUse, what)
	}
	return nil
}

// list returns up to limit rows whose leading keys equal parent and whose
// last key is after `after`, ordered by the last key.
func list[T any](ctx context.Context, tx *Tx, t table, parent []any, after string, limit int) ([]T, error) {
	last := t.keys[len(t.keys)-1]
	conds := []string{last + " > ?"}
	if len(parent) > 0 {
		conds = append(conds, t.where(t.keys[:len(parent)]))
	}
	args := append([]any{after}, parent...)
	args = append(args, limit)
	q := fmt.Sprintf("SELECT body FROM %s WHERE %s ORDER BY %s LIMIT ?", t.name, strings.Join(conds, " AND "), last)
	return scanBodies[T](ctx, tx, t, q, args...)
}

func scanBodies[T any](ctx context.Context, tx *Tx, t table, q string, args ...any) ([]T, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, tx.d.translate(err)
		}
		var v T
		if err := decode(t, body, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, tx.d.translate(rows.Err())
}

// notFound maps sql.ErrNoRows and foreign-key violations (a missing
// parent) to resource.ErrNotFound and translates other errors.
func notFound(tx *Tx, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return resource.ErrNotFound
	}
	err = tx.d.translate(err)
	if errors.Is(err, errForeignKey) {
		return errors.Join(resource.ErrNotFound, err)
	}
	return err
}

// one returns the only item of items, or resource.ErrNotFound.
func one[T any](items []T, _ string, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if len(items) == 0 {
		return zero, resource.ErrNotFound
	}
	return items[0], nil
}
