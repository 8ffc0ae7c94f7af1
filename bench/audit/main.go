// Command audit measures Berth's audit trail on a real database: how fast
// records are appended (in batches, and one per transaction as a single
// API change does) and how long Verify takes over the whole chain.
//
//	go run ./bench/audit -db sqlite -n 1000000
//	go run ./bench/audit -db postgres -url 'postgres://…?search_path=bench' -n 1000000
//
// bench/audit/run.sh runs both and prints a Markdown table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/audit:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	db := fs.String("db", "sqlite", "sqlite or postgres")
	url := fs.String("url", "", "PostgreSQL URL (use an empty schema through search_path)")
	dir := fs.String("dir", "", "directory for the SQLite file (default: a temporary one)")
	n := fs.Int("n", 1_000_000, "records to append before verifying")
	batch := fs.Int("batch", 1000, "records per transaction in the bulk phase")
	single := fs.Int("single", 5000, "records appended one per transaction")
	writers := fs.Int("writers", 0, "instead: measure this many concurrent writers making audited changes through the application layer, each committing alone and then with group commit")
	perWriter := fs.Int("changes", 200, "with -writers: changes each writer makes per run")
	alone := fs.Bool("alone", true, "with -writers: measure each change committing alone too (one fsync each: slow)")
	verifyOnly := fs.Bool("verify-only", false, "append nothing: verify the -n records already in -dir or -url")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of Verify (with -writers: of the whole run) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, cleanup, err := open(ctx, *db, *url, *dir)
	if err != nil {
		return err
	}
	defer cleanup()
	if *writers > 0 {
		stop, err := startProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
		return concurrentWriters(ctx, stdout, st, *db, *writers, *perWriter, *alone)
	}

	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	actor := audit.Actor{User: "bench", Roles: []string{"developer@acme/payments"}, SourceIP: "10.1.2.3", RequestID: "bench"}
	appendN := func(tx platform.Tx, count int) error {
		for range count {
			clk.Advance(time.Millisecond)
			if _, err := audit.Append(ctx, tx, clk.Now(), actor, audit.Event{Tenant: "acme", Project: "payments",
				Action: "application.set-version", Target: "tenants/acme/projects/payments/applications/red-auth",
				Summary: "set version of red-auth to v1-4-2 (was v1-4-1)"}); err != nil {
				return err
			}
		}
		return nil
	}

	bulk := *n - *single
	if bulk < 0 {
		return errors.New("-n must be at least -single")
	}
	if *verifyOnly {
		bulk, *single = 0, 0
	}
	start := time.Now()
	for done := 0; done < bulk; done += *batch {
		if err := st.InTx(ctx, func(tx platform.Tx) error { return appendN(tx, min(*batch, bulk-done)) }); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	bulkDur := time.Since(start)

	start = time.Now()
	for range *single {
		if err := st.InTx(ctx, func(tx platform.Tx) error { return appendN(tx, 1) }); err != nil {
			return fmt.Errorf("append: %w", err)
		}
	}
	singleDur := time.Since(start)

	svc := audit.NewService(clk, 0)
	var rep audit.Report
	stop, err := startProfile(*cpuprofile)
	if err != nil {
		return err
	}
	start = time.Now()
	if err := st.View(ctx, func(tx platform.Tx) (err error) { rep, err = svc.Verify(ctx, tx); return err }); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	verifyDur := time.Since(start)
	stop()
	if !rep.OK() || rep.Checked != int64(*n) {
		return fmt.Errorf("verify: checked %d of %d, broken: %v", rep.Checked, *n, rep.Broken)
	}
	if *verifyOnly {
		fmt.Fprintf(stdout, "| %s | %d | verify %.1f s (%.0f rec/s) |\n", *db, *n, verifyDur.Seconds(), float64(rep.Checked)/verifyDur.Seconds())
		return nil
	}
	fmt.Fprintf(stdout, "| %s | %d | %.0f rec/s (batches of %d) | %.0f rec/s (%d single-record transactions) | %.1f s (%.0f rec/s) |\n",
		*db, *n, float64(bulk)/bulkDur.Seconds(), *batch, float64(*single)/singleDur.Seconds(), *single,
		verifyDur.Seconds(), float64(rep.Checked)/verifyDur.Seconds())
	return nil
}

// startProfile starts a CPU profile into path (none when empty) and
// returns what stops it.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func open(ctx context.Context, db, url, dir string) (*store.Store, func(), error) {
	switch db {
	case "postgres":
		if url == "" {
			return nil, nil, errors.New("-db postgres needs -url")
		}
		st, err := store.OpenPostgres(ctx, url)
		if err != nil {
			return nil, nil, err
		}
		return st, func() { _ = st.Close() }, nil
	case "sqlite":
		tmp := ""
		if dir == "" {
			var err error
			if tmp, err = os.MkdirTemp("", "berth-bench-audit-"); err != nil {
				return nil, nil, err
			}
			dir = tmp
		}
		st, err := store.OpenSQLite(ctx, filepath.Join(dir, store.SQLiteFile))
		if err != nil {
			return nil, nil, err
		}
		return st, func() {
			_ = st.Close()
			if tmp != "" {
				os.RemoveAll(tmp)
			}
		}, nil
	}
	return nil, nil, fmt.Errorf("-db %q: want sqlite or postgres", db)
}
