package terminal

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// FuzzCheck feeds arbitrary lines to the parser and the policy. Whatever is
// accepted must be only allowed argv: commands and flags from the tables
// below (written here, not taken from the catalogue), paths under the
// policy's directories, and words equal to what bash itself would pass
// (mvdan.cc/sh/v3/expand, an independent implementation of quote removal
// and expansion, with an environment in which every expansion would show).
func FuzzCheck(f *testing.F) {
	for _, l := range corpus(f) {
		f.Add(l)
	}
	for _, l := range []string{"tail -n 100 /var/log/app.log | grep ERROR", `grep -i 'a b' "/var/log/x"`, "cat /var/log/a | wc -l", "ls -l -a /var/log", "head -c 9 /srv/app/logs/a.log"} {
		f.Add(l)
	}
	p := logOnly()
	f.Fuzz(func(t *testing.T, line string) {
		d := p.Check(line)
		if !d.Allowed {
			if d.Refusal == nil || d.Argv != nil {
				t.Fatalf("refused %q without a reason or with argv: %+v", line, d)
			}
			return
		}
		if want := bashArgv(t, line); !cmp.Equal(want, d.Argv) {
			t.Fatalf("accepted %q as %q, but bash would run %q", line, d.Argv, want)
		}
		for i, argv := range d.Argv {
			checkArgv(t, line, argv, i == 0)
		}
	})
}

var fuzzFlags = map[string][]string{
	"cat":  {"-n"},
	"tail": {"-n", "-c", "-q", "-v"},
	"head": {"-n", "-c", "-q", "-v"},
	"wc":   {"-l", "-w", "-c", "-m"},
	"ls":   {"-l", "-a", "-h", "-t", "-r", "-1"},
}

var digits = regexp.MustCompile(`^[0-9]+$`)

func checkArgv(t *testing.T, line string, argv []string, first bool) {
	t.Helper()
	for _, w := range argv {
		if strings.ContainsFunc(w, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("accepted %q with a control character in %q", line, w)
		}
	}
	if argv[0] == "grep" {
		for _, w := range argv[1:] {
			if slices.Contains([]string{"-r", "-R", "-f", "-d", "-D", "-z", "-P"}, w) || strings.HasPrefix(w, "--") && w != "--" {
				// Only harmless as the value of -e or after --.
				i := slices.Index(argv, w)
				if argv[i-1] != "-e" && !slices.Contains(argv[:i], "--") && !firstOperand(argv, i) {
					t.Fatalf("accepted %q with grep flag %q", line, w)
				}
			}
		}
		if first && !underAllowed(argv[len(argv)-1]) && !slices.Contains(argv, "--") {
			t.Fatalf("accepted %q: grep reads %q", line, argv[len(argv)-1])
		}
		return
	}
	flags, ok := fuzzFlags[argv[0]]
	if !ok {
		t.Fatalf("accepted %q running %q", line, argv[0])
	}
	paths := 0
	for _, w := range argv[1:] {
		switch {
		case slices.Contains(flags, w), digits.MatchString(w):
		case underAllowed(w):
			paths++
		default:
			t.Fatalf("accepted %q with word %q of %s", line, w, argv[0])
		}
	}
	if first != (paths > 0) {
		t.Fatalf("accepted %q: %s first=%v with %d paths", line, argv[0], first, paths)
	}
}

// firstOperand reports whether argv[i] is grep's pattern operand: the first
// word that is neither a flag nor a flag's value.
func firstOperand(argv []string, i int) bool {
	for j := 1; j < i; j++ {
		if !strings.HasPrefix(argv[j], "-") {
			if j > 0 && slices.Contains([]string{"-m", "-A", "-B", "-C", "-e"}, argv[j-1]) {
				continue
			}
			return false
		}
	}
	return true
}

func underAllowed(w string) bool {
	if strings.Contains(w, "..") || strings.Contains(w, "//") || strings.HasSuffix(w, "/") {
		return false
	}
	if w == "/var/log" || strings.HasPrefix(w, "/var/log/") {
		return true
	}
	rest, ok := strings.CutPrefix(w, "/srv/app/logs/")
	return ok && !strings.Contains(rest, "/") && strings.HasSuffix(rest, ".log")
}

// bashArgv is what bash would run for line, by mvdan.cc/sh/v3/expand.
func bashArgv(t *testing.T, line string) [][]string {
	t.Helper()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(line), "")
	if err != nil {
		t.Fatalf("accepted %q that bash cannot parse: %v", line, err)
	}
	cfg := &expand.Config{Env: expand.ListEnviron("IFS=/", "HOME=/etc", "PWD=/etc", "X=/etc/shadow")}
	var out [][]string
	var walk func(st *syntax.Stmt)
	walk = func(st *syntax.Stmt) {
		switch c := st.Cmd.(type) {
		case *syntax.BinaryCmd:
			walk(c.X)
			walk(c.Y)
		case *syntax.CallExpr:
			fields, err := expand.Fields(cfg, c.Args...)
			if err != nil {
				t.Fatalf("accepted %q that bash cannot expand: %v", line, err)
			}
			out = append(out, fields)
		default:
			t.Fatalf("accepted %q holding %T", line, c)
		}
	}
	for _, st := range f.Stmts {
		walk(st)
	}
	return out
}
