package terminal

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// logOnly allows the whole catalogue on /var/log: the widest restricted
// policy, so a refusal in the corpus is not due to a missing command.
func logOnly() *Policy {
	return &Policy{Name: "log-only", Role: "viewer", Mode: Restricted, Commands: CommandNames(), Paths: []string{"/var/log/**", "/srv/app/logs/*.log"}}
}

func TestAcceptedLinesRunAsTheseArgv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		line string
		want [][]string
	}{
		{"a tail piped into grep", "tail -n 100 /var/log/app.log | grep ERROR", [][]string{{"tail", "-n", "100", "/var/log/app.log"}, {"grep", "ERROR"}}},
		{"quotes are removed", `grep -i 'disk full' "/var/log/app.log"`, [][]string{{"grep", "-i", "disk full", "/var/log/app.log"}}},
		{"a single-quoted pattern keeps its specials", `grep -E 'a|b;$(id)' /var/log/app.log`, [][]string{{"grep", "-E", "a|b;$(id)", "/var/log/app.log"}}},
		{"a pattern given with -e", "grep -e -v /var/log/app.log", [][]string{{"grep", "-e", "-v", "/var/log/app.log"}}},
		{"-- ends the flags", "grep -- -x /var/log/app.log", [][]string{{"grep", "--", "-x", "/var/log/app.log"}}},
		{"a whole-path pattern", "head -n 5 /srv/app/logs/app.log", [][]string{{"head", "-n", "5", "/srv/app/logs/app.log"}}},
		{"four stages", "cat /var/log/a | grep x | tail -n 3 | wc -l", [][]string{{"cat", "/var/log/a"}, {"grep", "x"}, {"tail", "-n", "3"}, {"wc", "-l"}}},
		{"a Chinese pattern", "grep '支付失败' /var/log/app.log", [][]string{{"grep", "支付失败", "/var/log/app.log"}}},
		{"the allowed directory itself", "ls -l /var/log", [][]string{{"ls", "-l", "/var/log"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := logOnly().Check(tt.line)
			if !d.Allowed {
				t.Fatalf("Check(%q) refused: %v", tt.line, d.Refusal)
			}
			if diff := cmp.Diff(tt.want, d.Argv); diff != "" {
				t.Errorf("Check(%q) argv (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

func TestRefusalsSayWhy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want Reason
	}{
		{"ls /var/log;rm -rf /", ReasonList},
		{"ls /var/log && touch /tmp/x", ReasonAndOr},
		{"tail -n 1 /var/log/a &", ReasonBackground},
		{"tail -n 1 $(echo /etc/shadow)", ReasonSubstitute},
		{"cat${IFS}/etc/passwd", ReasonExpansion},
		{"tail -n 1 /var/log/a > /tmp/x", ReasonRedirect},
		{"A=1 tail -n 1 /var/log/a", ReasonAssign},
		{"(tail -n 1 /var/log/a)", ReasonCompound},
		{"wh\\oami", ReasonEscape},
		{"tail -n 1 /var/log/*.log", ReasonGlob},
		{"rm -rf /var/log", ReasonCommand},
		{"tail -f /var/log/a", ReasonFlag},
		{"tail -n x /var/log/a", ReasonValue},
		{"tail -n 1 /etc/shadow", ReasonPath},
		{"tail -n 1 /var/log/../../etc/shadow", ReasonPath},
		{"tail -n 1 /var/log/a | ls", ReasonFilter},
		{"grep ERROR", ReasonOperand},
		{"tail -n 1 /var/log/a\x1b", ReasonControl},
		{"ｔａｉｌ -n 1 /var/log/a", ReasonUnicode},
		{strings.Repeat("a", 1025), ReasonTooLong},
		{"tail -n 1 '/var/log/a", ReasonSyntax},
	}
	for _, tt := range tests {
		d := logOnly().Check(tt.line)
		if d.Allowed || d.Refusal == nil || d.Refusal.Reason != tt.want {
			t.Errorf("Check(%q) = %+v, want refused for %s", tt.line, d, tt.want)
			continue
		}
		if want := "policy/log-only/" + string(tt.want); d.Rule != want {
			t.Errorf("Check(%q) rule = %q, want %q", tt.line, d.Rule, want)
		}
	}
}

// TestBypassCorpusIsRefused runs every line of testdata/bypass.txt: none
// may be accepted.
func TestBypassCorpusIsRefused(t *testing.T) {
	t.Parallel()
	lines := corpus(t)
	if len(lines) < 60 {
		t.Fatalf("the corpus has %d lines, want at least 60", len(lines))
	}
	for _, line := range lines {
		if d := logOnly().Check(line); d.Allowed {
			t.Errorf("bypass accepted: %q as %q", line, d.Argv)
		}
	}
}

var escape = regexp.MustCompile(`\\(t|r|x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\})`)

func corpus(t testing.TB) []string {
	f, err := os.Open("testdata/bypass.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "# ") {
			continue
		}
		lines = append(lines, escape.ReplaceAllStringFunc(l, decodeEscape))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// Very long lines are generated rather than written out.
	lines = append(lines, "tail -n 1 /var/log/"+strings.Repeat("a", HardMaxLineBytes), "grep "+strings.Repeat("'x'", 2000)+" /var/log/a")
	return lines
}

func decodeEscape(s string) string {
	switch {
	case s == `\t`:
		return "\t"
	case s == `\r`:
		return "\r"
	case s[1] == 'x':
		n, _ := strconv.ParseUint(s[2:], 16, 8)
		return string([]byte{byte(n)})
	default:
		n, _ := strconv.ParseUint(s[3:len(s)-1], 16, 32)
		return string(rune(n))
	}
}

func TestPolicyValidation(t *testing.T) {
	t.Parallel()
	bad := Policy{Name: "Bad_Name", Role: "root", Mode: Restricted, Commands: []string{"tail", "find", "tail"},
		Paths: []string{"var/log", "/", "/var/../etc/**", "/var/log/**"}, MaxLineBytes: 99999}
	err := bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad policy")
	}
	for _, field := range []string{"name", "role", "commands[1]", "commands[2]", "paths[0]", "paths[1]", "paths[2]", "maxLineBytes"} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("Validate() = %v, want an error at %s", err, field)
		}
	}
	if strings.Contains(err.Error(), "paths[3]") {
		t.Errorf("Validate() = %v, flags the good path /var/log/**", err)
	}
	if err := logOnly().Validate(); err != nil {
		t.Errorf("Validate(log-only) = %v", err)
	}
	shell := Policy{Name: "ops-shell", Role: "operator", Environment: "dev", Mode: Shell, Commands: []string{"tail"}}
	if err := shell.Validate(); err == nil || !strings.Contains(err.Error(), "commands:") {
		t.Errorf("Validate(shell with commands) = %v, want an error at commands", err)
	}
}
