package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"berth.dev/berth/internal/store"
)

// DefaultPostgresURL is the test server: this machine's PostgreSQL, trust
// authentication, database "test". BERTH_TEST_POSTGRES overrides it.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the URL of the test PostgreSQL server.
func PostgresURL() string {
	if u := os.Getenv("BERTH_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Postgres returns a constructor of stores, each in a fresh schema of the
// test server that is dropped when its test ends. When the server is
// unreachable the test fails, in CI and outside it alike: a suite that
// silently does not run proves nothing. `make test` starts the server
// first (scripts/postgres.sh).
func Postgres(t testing.TB) NewStore {
	t.Helper()
	base := PostgresURL()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err == nil {
		err = conn.Ping(ctx)
		_ = conn.Close(ctx)
	}
	if err != nil {
		t.Fatalf("PostgreSQL at %s is unreachable (%v): the PostgreSQL conformance suite did NOT run; "+
			"start it with scripts/postgres.sh (make test does), or name another server in BERTH_TEST_POSTGRES", redact(base), err)
	}
	return func(t testing.TB) *store.Store {
		t.Helper()
		u := PostgresSchema(t)
		st, err := store.OpenPostgres(t.Context(), u)
		if err != nil {
			t.Fatalf("open store in a fresh schema: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
}

// PostgresSchema creates a fresh schema on the test server, dropped when
// the test ends, and returns the server's URL with that schema as its
// search path: for a `berth server --database` of the test's own.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "berth_test_" + hex.EncodeToString(b)
	admin := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatalf("connect to PostgreSQL at %s: %v", redact(base), err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	admin("CREATE SCHEMA " + schema)
	t.Cleanup(func() { admin("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("BERTH_TEST_POSTGRES: %v", err)
	}
	qs := u.Query()
	qs.Set("search_path", schema)
	u.RawQuery = qs.Encode()
	return u.String()
}

// SQLite returns a constructor of stores, each a new file in a temporary
// directory.
func SQLite(testing.TB) NewStore {
	return func(t testing.TB) *store.Store {
		t.Helper()
		st, err := store.OpenSQLite(t.Context(), t.TempDir()+"/"+store.SQLiteFile)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(malformed URL)"
	}
	return u.Redacted()
}
