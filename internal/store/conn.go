package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// conn is what a transaction's statements run on: a database/sql
// transaction (SQLite, and reads on PostgreSQL), or, for a write
// transaction on PostgreSQL, pgx's own connection beneath database/sql,
// which sends several statements in one round trip (a pipeline).
//
// A statement may carry statements to run before it (pre: a SAVEPOINT,
// the flush of audit records before a COMMIT); where the connection can,
// they travel in the statement's round trip. An error of one of them, or
// one that leaves unknown whether they ran, is a *preError: the statement
// did not run.
type conn interface {
	exec(ctx context.Context, pre []stmt, q string, args []any) (sql.Result, error)
	query(ctx context.Context, pre []stmt, q string, args []any) (rows, error)
	// commit runs pre, then commits; rollback ends the transaction
	// without it.
	commit(ctx context.Context, pre []stmt) error
	rollback(ctx context.Context) error
	// aborted reports whether a statement failed and the transaction
	// refuses any but a rollback (PostgreSQL).
	aborted() bool
}

// stmt is a statement and its arguments, placeholders already rebound.
type stmt struct {
	q    string
	args []any
}

// rows is a statement's result set (*sql.Rows, or pgx's beneath it).
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// preError is the failure of a statement sent before another: the other
// did not run.
type preError struct {
	q   string
	err error
}

func (e *preError) Error() string { return fmt.Sprintf("%s: %v", e.q, e.err) }
func (e *preError) Unwrap() error { return e.err }

// row is the first row of a query, as sql.Row: Scan reports
// sql.ErrNoRows when there is none.
type row struct {
	rows rows
	err  error
}

// Scan copies the row's columns into dest and closes the result set.
func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	return r.rows.Close()
}

// sqlConn is a database/sql transaction: pre runs statement by statement.
type sqlConn struct{ tx *sql.Tx }

func (c sqlConn) runPre(ctx context.Context, pre []stmt) error {
	for _, p := range pre {
		if _, err := c.tx.ExecContext(ctx, p.q, p.args...); err != nil {
			return &preError{q: p.q, err: err}
		}
	}
	return nil
}

func (c sqlConn) exec(ctx context.Context, pre []stmt, q string, args []any) (sql.Result, error) {
	if err := c.runPre(ctx, pre); err != nil {
		return nil, err
	}
	return c.tx.ExecContext(ctx, q, args...)
}

func (c sqlConn) query(ctx context.Context, pre []stmt, q string, args []any) (rows, error) {
	if err := c.runPre(ctx, pre); err != nil {
		return nil, err
	}
	r, err := c.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (c sqlConn) commit(ctx context.Context, pre []stmt) error {
	if err := c.runPre(ctx, pre); err != nil {
		return err
	}
	return c.tx.Commit()
}

func (c sqlConn) rollback(context.Context) error { return c.tx.Rollback() }

// aborted is false: database/sql does not tell. SQLite's transactions go
// on after a failed statement.
func (c sqlConn) aborted() bool { return false }

// pgConn is a write transaction on pgx's connection, begun by its first
// statement (BEGIN travels with it) and ended by commit or rollback.
// Statements sent together run as one pipeline: the server skips those
// after a failing one, so nothing runs after an error.
type pgConn struct {
	c     *pgx.Conn
	begun bool
}

// send sends pre and then q (with BEGIN first if the transaction has not
// begun) and reads the results of pre; the caller reads q's from br and
// closes it.
func (c *pgConn) send(ctx context.Context, pre []stmt, q string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	if !c.begun {
		b.Queue("BEGIN")
	}
	for _, p := range pre {
		b.Queue(p.q, p.args...)
	}
	b.Queue(q, args...)
	br := c.c.SendBatch(ctx, b)
	if !c.begun {
		if _, err := br.Exec(); err != nil {
			return nil, &preError{q: "BEGIN", err: errors.Join(err, br.Close())}
		}
		c.begun = true
	}
	for _, p := range pre {
		if _, err := br.Exec(); err != nil {
			return nil, &preError{q: p.q, err: errors.Join(err, br.Close())}
		}
	}
	return br, nil
}

func (c *pgConn) exec(ctx context.Context, pre []stmt, q string, args []any) (sql.Result, error) {
	if len(pre) == 0 && c.begun {
		tag, err := c.c.Exec(ctx, q, args...)
		return pgResult(tag), err
	}
	br, err := c.send(ctx, pre, q, args)
	if err != nil {
		return nil, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return pgResult(tag), err
}

func (c *pgConn) query(ctx context.Context, pre []stmt, q string, args []any) (rows, error) {
	if len(pre) == 0 && c.begun {
		r, err := c.c.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		return &pgRows{Rows: r}, nil
	}
	br, err := c.send(ctx, pre, q, args)
	if err != nil {
		return nil, err
	}
	r, err := br.Query()
	if err != nil {
		_ = br.Close() // reports err again
		return nil, err
	}
	return &pgRows{Rows: r, batch: br}, nil
}

func (c *pgConn) commit(ctx context.Context, pre []stmt) error {
	if !c.begun {
		return nil // nothing ran
	}
	_, err := c.exec(ctx, pre, "COMMIT", nil)
	var pe *preError
	if !errors.As(err, &pe) { // COMMIT ran: the transaction ended, committed or not
		c.begun = false
	}
	return err
}

func (c *pgConn) rollback(ctx context.Context) error {
	if !c.begun {
		return nil
	}
	c.begun = false
	_, err := c.c.Exec(ctx, "ROLLBACK")
	return err
}

func (c *pgConn) aborted() bool { return c.c.PgConn().TxStatus() == 'E' }

// pgRows are pgx's rows as database/sql's; those of a pipeline close it
// with them.
type pgRows struct {
	pgx.Rows
	batch pgx.BatchResults
}

func (r *pgRows) Close() error {
	r.Rows.Close()
	err := r.Rows.Err()
	if r.batch != nil {
		if cerr := r.batch.Close(); err == nil { // else it reports err again
			err = cerr
		}
		r.batch = nil
	}
	return err
}

// pgResult is a command tag as a sql.Result.
type pgResult pgconn.CommandTag

func (r pgResult) LastInsertId() (int64, error) {
	return 0, errors.New("LastInsertId is not supported by PostgreSQL")
}

func (r pgResult) RowsAffected() (int64, error) { return pgconn.CommandTag(r).RowsAffected(), nil }
