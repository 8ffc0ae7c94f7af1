package testreport

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The streams in testdata are written by hand in the shape `go test -json`
// (Go 1.26) emits: build failures as build-output events, a panicking test
// as its output and its fail, a panic in another goroutine as output with
// no end for the test that ran.
func TestReportJudgesTheRunAndEndsWithTheCounts(t *testing.T) {
	t.Parallel()
	const allowPostgres = "# tests that may skip\nTestPostgres needs a server the laptop may not have\n"
	tests := []struct {
		name      string
		stream    string
		ci        string
		allowList string // "" means no -allowed flag
		wantCode  int
		wantLast  string
		wantOut   []string // in this order
		wantNot   []string
	}{
		{"a passing run prints go test's ok lines and nothing of passing tests", "pass.jsonl", "true", "", 0,
			"2 passed, 0 failed, 0 skipped",
			[]string{"go: downloading example.com/ledger v1.0.0\n", "ok  \tex/a\t0.011s\n", "?   \tex/b\t[no test files]\n"},
			[]string{"stays quiet", "=== RUN", "--- PASS", "PASS\n", "Skipped", "Failed"}},
		{"a failing subtest prints its test's output in full and only that", "fail.jsonl", "", "", 1,
			"3 passed, 2 failed, 0 skipped",
			[]string{"opening the ledger", "balance -5, want 0", "--- FAIL: TestTransfer/overdraft", "--- FAIL: TestTransfer (0.00s)",
				"FAIL\tex/a\t0.020s", "ok  \tex/b", "Failed (2):", "FAIL ex/a TestTransfer/overdraft", "FAIL ex/a TestTransfer\n"},
			[]string{"log of a passing test", "log of a passing subtest", "=== RUN"}},
		{"a skip on the allow-list passes in CI and is listed with its reason", "skip.jsonl", "true", allowPostgres, 0,
			"1 passed, 0 failed, 1 skipped",
			[]string{"ok  \tex/store", "Skipped tests (1):",
				"SKIP ex/store TestPostgres: store_test.go:16: PostgreSQL is unreachable [allowed: needs a server the laptop may not have]"},
			[]string{"NOT on"}},
		{"a skip not on the allow-list fails in CI", "skip.jsonl", "true", "# nothing may skip\n", 1,
			"1 passed, 0 failed, 1 skipped",
			[]string{"SKIP ex/store TestPostgres: store_test.go:16: PostgreSQL is unreachable [NOT on ", "1 skipped test(s) are not on "},
			nil},
		{"a skip with no allow-list at all fails in CI", "skip.jsonl", "true", "", 1,
			"1 passed, 0 failed, 1 skipped",
			[]string{"[NOT on the allow-list]"}, nil},
		{"outside CI a skip not on the allow-list is listed but does not fail", "skip.jsonl", "", "", 0,
			"1 passed, 0 failed, 1 skipped",
			[]string{"SKIP ex/store TestPostgres: store_test.go:16: PostgreSQL is unreachable [NOT on the allow-list]"},
			[]string{"CI fails"}},
		{"a package that does not build fails the run and shows the compiler", "build-failure.jsonl", "", "", 1,
			"1 passed, 1 failed, 0 skipped",
			[]string{"# ex/broken [ex/broken.test]", "broken_test.go:3:39: undefined: ledger", "ok  \tex/a",
				"FAIL\tex/broken [build failed]\n", "FAIL ex/broken [build failed]"},
			nil},
		{"a panicking test is a failure with its stack", "panic.jsonl", "", "", 1,
			"1 passed, 1 failed, 0 skipped",
			[]string{"--- FAIL: TestPanics", "panic: nil ledger", "p_test.go:4", "FAIL\tex/p\t0.018s", "FAIL ex/p TestPanics"},
			nil},
		{"a panic in another goroutine fails the test that was running", "goroutine-panic.jsonl", "", "", 1,
			"1 passed, 2 failed, 0 skipped",
			[]string{"panic: send on closed channel", "--- FAIL: TestWorker/drains (did not finish)", "FAIL\tex/g\t0.012s",
				"FAIL ex/g TestWorker/drains (did not finish"},
			nil},
		{"a test run again (-count=2) is judged on each run", "count.jsonl", "", "", 1,
			"1 passed, 1 failed, 0 skipped",
			[]string{"run 1", "the first run fails", "--- FAIL: TestFlaky", "FAIL\tex/c\t0.012s", "FAIL ex/c TestFlaky"},
			[]string{"run 2", "--- PASS"}},
		{"a stream cut off mid-test fails that test", "truncated.jsonl", "", "", 1,
			"0 passed, 1 failed, 0 skipped",
			[]string{"still waiting", "FAIL ex/t TestSlow (did not finish", "go test did not run"},
			nil},
		{"an empty stream is a failure, not a pass", "empty.jsonl", "", "", 1,
			"0 passed, 0 failed, 0 skipped",
			[]string{"No package reported a result"},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stream, err := os.Open(filepath.Join("testdata", tc.stream))
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			var args []string
			if tc.allowList != "" {
				file := filepath.Join(t.TempDir(), "allowed-skips.txt")
				if err := os.WriteFile(file, []byte(tc.allowList), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "-allowed", file)
			}
			getenv := func(k string) string {
				if k == "CI" {
					return tc.ci
				}
				return ""
			}
			var stdout, stderr bytes.Buffer
			code := Main(args, getenv, stream, &stdout, &stderr)
			out := stdout.String()
			if code != tc.wantCode {
				t.Errorf("exit status %d, want %d", code, tc.wantCode)
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if last := lines[len(lines)-1]; last != tc.wantLast {
				t.Errorf("last line %q, want %q", last, tc.wantLast)
			}
			rest := out
			for _, w := range tc.wantOut {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("output lacks %q after the previous expected part", w)
					continue
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tc.wantNot {
				if strings.Contains(out, w) {
					t.Errorf("output has %q", w)
				}
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: %s", stderr.String())
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

func TestABadAllowListStopsTheReportBeforeItReads(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, list, wantErr string
	}{
		{"an entry without a reason", "# header\n\nTestPostgres\n", "line 3: TestPostgres has no reason"},
		{"an entry named twice", "TestA flaky network\nTestA again\n", "line 2: TestA is listed twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "allowed-skips.txt")
			if err := os.WriteFile(file, []byte(tc.list), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := Main([]string{"-allowed", file}, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.wantErr)
			}
		})
	}
}

func TestTheRepositorysAllowListParses(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../.ci/allowed-skips.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := ParseAllowList(f); err != nil {
		t.Fatalf(".ci/allowed-skips.txt: %v", err)
	}
}
