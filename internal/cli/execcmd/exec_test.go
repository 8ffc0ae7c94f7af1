package execcmd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/terminal"
)

// TestLineKeepsEachArgumentOneWord: words given as arguments reach the
// server's policy as exactly those words, whatever they hold.
func TestLineKeepsEachArgumentOneWord(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"tail", "-n", "100", "/var/log/app.log"},
		{"grep", "disk full", "/var/log/app.log"},
		{"grep", "it's", "/var/log/app.log"},
		{"grep", "a|b;$(id)`x`", "/var/log/app.log"},
		{"grep", "", "/var/log/app.log"},
		{"grep", "支付失败", "/var/log/app.log"},
	} {
		got, r := terminal.Words(Line(args), terminal.HardMaxLineBytes)
		if r != nil {
			t.Errorf("Line(%q) = %q, refused: %v", args, Line(args), r)
			continue
		}
		if diff := cmp.Diff([][]string{args}, got); diff != "" {
			t.Errorf("Line(%q) = %q parses as (-want +got):\n%s", args, Line(args), diff)
		}
	}
	if got := Line([]string{"tail -n 1 /var/log/a | grep x"}); got != "tail -n 1 /var/log/a | grep x" {
		t.Errorf("one argument is the line itself, got %q", got)
	}
}
