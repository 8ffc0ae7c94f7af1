// Package store is Berth's persistence: one SQL implementation of every
// domain Store interface over SQLite (embedded, modernc.org/sqlite, the
// default) or PostgreSQL (github.com/jackc/pgx/v5), the differences kept in
// a small dialect struct. It is the only package that imports database/sql
// and the drivers.
//
// Each resource is a row with its key columns, a resourceVersion and the
// domain object as JSON; constraints (primary keys, foreign keys, unique
// bindings) guard integrity and are translated into the domain sentinels
// of package resource. Numbered, embedded migrations run at Open.
//
// Write transactions are serialized: SQLite's BEGIN IMMEDIATE takes the
// database's write lock, and on PostgreSQL InTx first locks the audit
// chain's row, which every write appends to anyway. Concurrent write
// transactions share one database transaction and one commit (group
// commit, group.go). See docs/adr/0003-store.md and 0013.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/tenancy"
)

// Compile-time guards: Tx implements every domain Store, Store the
// transaction runner.
var (
	_ tenancy.Store       = (*Tx)(nil)
	_ apps.Store          = (*Tx)(nil)
	_ identity.Store      = (*Tx)(nil)
	_ audit.Store         = (*Tx)(nil)
	_ platform.Tx         = (*Tx)(nil)
	_ platform.Transactor = (*Store)(nil)
)

// Store is a database holding Berth's state. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// ro reads (View): on SQLite a second pool of connections opened in
	// query_only mode with deferred transactions, so a read neither takes
	// the write lock nor toggles a connection's mode; on PostgreSQL db.
	ro *sql.DB
	d  *dialect
	// commits groups concurrent write transactions (group.go).
	commits *committer
	// pg is the PostgreSQL connection configuration, for the connection
	// that listens to other replicas (notify.go); nil on SQLite.
	pg *pgx.ConnConfig
	// channel is the notification channel of this database's schema.
	channel string
}

// Tx is the store bound to one transaction. It is not safe for concurrent
// use and is valid only inside the function given to InTx or View.
type Tx struct {
	c conn
	d *dialect
	// write marks a write transaction, possibly shared by a group (see
	// InTx): its statements are not cancelled midway by a caller's context,
	// which would break the connection the group shares.
	write bool
	// savepoint is the state of the savepoint of the group's member this
	// Tx serves (runMember).
	savepoint savepointState
	// chainState is the audit chain once LockAuditChain has read it.
	chainState *audit.Chain
	// pendingAudit are the records InsertAudit keeps until the commit.
	pendingAudit []audit.Record
	// afterCommit runs, in order, once the transaction has committed.
	afterCommit []func()
}

// SQLiteFile is the database file Open uses under the data directory.
const SQLiteFile = "berth.db"

// Open opens PostgreSQL when databaseURL is set (postgres://…), else the
// SQLite database dataDir/berth.db, and brings its schema up to date.
func Open(ctx context.Context, dataDir, databaseURL string) (*Store, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL)
	}
	return OpenSQLite(ctx, filepath.Join(dataDir, SQLiteFile))
}

// OpenSQLite opens (creating) the SQLite database file at path with WAL
// journaling, a busy timeout, foreign keys on and immediate write
// transactions, and migrates it.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	dsn := func(pragmas []string, txlock string) string {
		q := url.Values{}
		for _, p := range append([]string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"}, pragmas...) {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", txlock)
		return "file:" + path + "?" + q.Encode()
	}
	db, err := sql.Open("sqlite", dsn(nil, "immediate"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s, err := open(ctx, db, sqliteDialect)
	if err != nil {
		return nil, err
	}
	// Opened after the migrations, so its connections never see an older schema.
	ro, err := sql.Open("sqlite", dsn([]string{"query_only(1)"}, "deferred"))
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	ro.SetMaxOpenConns(8)
	ro.SetMaxIdleConns(8)
	s.ro = ro
	return s, nil
}

// IdleInTransaction is how long PostgreSQL lets a transaction of Berth's
// sit idle before it ends the session (idle_in_transaction_session_timeout).
const IdleInTransaction = 10 * time.Second

// OpenPostgres connects to the PostgreSQL database at databaseURL and
// migrates it. The URL may set search_path to use a schema other than
// public.
func OpenPostgres(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgx.ParseConfig(databaseURL) // validated here so the URL never reaches an error message
	if err != nil {
		return nil, errors.New("open postgres: malformed database URL")
	}
	// A transaction left idle by a stalled process (frozen, swapped out,
	// its network cut) would hold the audit chain's lock, and every writer
	// of every replica would wait on it until TCP gives up, which can be
	// hours. Berth never waits on anything outside the database inside a
	// transaction, so one idle for IdleInTransaction is ended by the server
	// and its work, uncommitted, is lost; a URL may set another value.
	if _, set := cfg.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(IdleInTransaction.Milliseconds(), 10)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	s, err := open(ctx, db, postgresDialect)
	if err != nil {
		return nil, err
	}
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("read schema: %w", s.d.translate(err))
	}
	s.pg, s.channel = cfg, channelOf(schema)
	return s, nil
}

func open(ctx context.Context, db *sql.DB, d *dialect) (*Store, error) {
	s := &Store{db: db, ro: db, d: d, commits: newCommitter()}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %w", d.name, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Close closes the database.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.ro != s.db {
		err = errors.Join(err, s.ro.Close())
	}
	return err
}

// Ping checks the database is reachable (for /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.d.translate(s.db.PingContext(ctx)) }

// View runs fn in a read-only transaction: a consistent snapshot that does
// not block writers. Writes inside it fail on both dialects (SQLite's
// read connections are opened in query_only mode).
func (s *Store) View(ctx context.Context, fn func(platform.Tx) error) (err error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d.name == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	stx, err := s.ro.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", s.d.translate(err))
	}
	tx := &Tx{c: sqlConn{stx}, d: s.d}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = stx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", s.d.translate(err))
	}
	return nil
}

// AfterCommit registers f to run once the transaction has committed; it
// never runs if the transaction rolls back. Used to wake controllers only
// for changes that are really written.
func (tx *Tx) AfterCommit(f func()) { tx.afterCommit = append(tx.afterCommit, f) }

// DB returns the underlying database for tests and repair tools that must
// reach past the domain (the audit tamper tests edit rows directly).
func (s *Store) DB() *sql.DB { return s.db }

// Rebind rewrites a query written with '?' placeholders for the dialect.
func (s *Store) Rebind(q string) string { return s.d.rebind(q) }
