package store_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/store/storetest"
	"berth.dev/berth/internal/tenancy"
)

func TestReopeningKeepsDataAndMigratesOnce(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data", store.SQLiteFile)
	st, err := store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(t.Context(), func(tx platform.Tx) error {
		return tx.CreateTenant(t.Context(), tenancy.Tenant{Name: "acme", ResourceVersion: 1})
	}); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	st, err = store.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.View(t.Context(), func(tx platform.Tx) error {
		_, err := tx.GetTenant(t.Context(), "acme")
		return err
	}); err != nil {
		t.Fatalf("tenant after reopening: %v", err)
	}
	var applied int
	if err := st.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("migrations/sqlite/*.sql")
	if applied != len(files) {
		t.Fatalf("applied %d migrations, have %d files", applied, len(files))
	}
	pgFiles, _ := filepath.Glob("migrations/postgres/*.sql")
	if len(pgFiles) != len(files) {
		t.Fatalf("%d SQLite migrations but %d PostgreSQL ones: every migration needs both", len(files), len(pgFiles))
	}
}

// TestUnreachablePostgres re-runs this test binary against a closed port:
// the PostgreSQL suite fails, in CI and outside it alike, and never skips.
func TestUnreachablePostgres(t *testing.T) {
	if os.Getenv("BERTH_STORE_HELPER") == "1" {
		storetest.Postgres(t)
		return
	}
	t.Parallel()
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestUnreachablePostgres$", "-test.v")
			cmd.Env = append(os.Environ(), "BERTH_STORE_HELPER=1", "CI="+ci,
				"BERTH_TEST_POSTGRES=postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			out := stdout.String()
			if err == nil || !strings.Contains(out, "--- FAIL") || strings.Contains(out, "--- SKIP") ||
				!strings.Contains(out, "PostgreSQL conformance suite did NOT run") || !strings.Contains(out, "scripts/postgres.sh") {
				t.Fatalf("err=%v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
			}
		})
	}
}
