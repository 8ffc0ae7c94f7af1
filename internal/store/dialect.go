package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"berth.dev/berth/internal/resource"
)

// dialect is everything that differs between the databases. Queries are
// written once with '?' placeholders and the SQL both accept (ON CONFLICT
// DO NOTHING / DO UPDATE, substr, LIMIT).
type dialect struct {
	name string
	// dollar numbers placeholders $1, $2… instead of '?'.
	dollar bool
	// forUpdate is appended to a SELECT to lock the rows it reads.
	forUpdate string
	// packedAuditCols reads an audit record as three columns (audit.go).
	packedAuditCols string
	// nowMillis is the database's clock in Unix milliseconds.
	nowMillis string
	// unique and foreignKey classify a driver error.
	unique, foreignKey func(error) bool
}

var sqliteDialect = &dialect{
	name:            "sqlite",
	packedAuditCols: packedAuditCols("char(31)"),
	nowMillis:       "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
	unique: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	foreignKey: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
}

var postgresDialect = &dialect{
	name:            "postgres",
	dollar:          true,
	forUpdate:       " FOR UPDATE",
	packedAuditCols: packedAuditCols("chr(31)"),
	nowMillis:       "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)",
	unique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	foreignKey: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23503"
	},
}

// errForeignKey marks a foreign-key violation; callers say whether it means
// a missing parent (ErrNotFound) or a remaining child (ErrInUse).
var errForeignKey = errors.New("foreign key violation")

// translate maps driver errors to domain sentinels, keeping the cause.
func (d *dialect) translate(err error) error {
	switch {
	case err == nil:
		return nil
	case d.unique(err):
		return errors.Join(resource.ErrAlreadyExists, err)
	case d.foreignKey(err):
		return errors.Join(errForeignKey, err)
	case unreachable(err):
		return errors.Join(resource.ErrUnavailable, err)
	}
	return err
}

// unreachable reports whether err says the database could not be reached
// or the connection was lost: the server down, restarting, or cut off.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up (context.DeadlineExceeded is a net.Error too)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08, connection exception; 57P01–57P03, the server shutting
		// down (pg_ctl stop), crashing or not yet accepting connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// rebind rewrites '?' placeholders for the dialect.
func (d *dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	return rebindDollar(q)
}

// rebindDollar numbers '?' placeholders $1, $2….
func rebindDollar(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
