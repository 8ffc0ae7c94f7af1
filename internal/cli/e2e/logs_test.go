package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestLogsFromTheCLI searches and follows an application's logs with
// `berth logs`, as served by the local cluster's kubelet (kwok serves every
// simulated container's log from one file).
func TestLogsFromTheCLI(t *testing.T) {
	b, c, _ := onCluster(t, "bank-pay-logs", "")
	b.must("", []string{"app", "deploy", "red-auth", "v1", "--env", "dev"})
	b.eventually(2*time.Minute, []string{"app", "list", "--env", "dev"}, "red-auth", "Running", "2/2")
	cri := "2026-12-07T10:00:00.000000001Z stdout F INFO started\n" +
		"2026-12-07T10:00:01.000000001Z stdout F ERROR pool exhausted\n" +
		"2026-12-07T10:00:02.000000001Z stdout F INFO served\n"
	if err := os.WriteFile(c.PodLogFile(), []byte(cri), 0o600); err != nil {
		t.Fatal(err)
	}
	out := b.must("", []string{"logs", "red-auth", "--env", "dev", "--grep", "error", "-i"})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("a search of two pods for one line printed %d lines:\n%s", len(lines), out)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 4 || f[0] != "2026-12-07T10:00:01.000000001Z" || !strings.HasPrefix(f[1], "red-auth-") || strings.Join(f[2:], " ") != "ERROR pool exhausted" {
			t.Errorf("line %q: want time, pod, text", l)
		}
	}
	if lines[0] == lines[1] {
		t.Errorf("both lines name the same pod: %q", lines[0])
	}
	out = b.must("", []string{"logs", "red-auth", "--env", "dev", "--follow", "--tail", "1"})
	if n := strings.Count(out, "INFO served"); n != 2 {
		t.Errorf("following the last line of two pods printed it %d times:\n%s", n, out)
	}
	if out, err := b.run("", "logs", "red-auth", "--env", "dev", "--grep", "(", "--regexp"); err == nil || !strings.Contains(err.Error()+out, "grep") {
		t.Errorf("a bad regular expression: %v %s, want an error naming grep", err, out)
	}
	b.must("", []string{"audit", "list", "--action", "log.read"}, "search logs")
}
