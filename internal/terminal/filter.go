package terminal

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// # Filters run in Berth
//
// Only a pipeline's first command runs in the container. The commands after
// a pipe (grep, head, tail, wc) run in Berth over that command's output:
// nothing the user types after a pipe ever reaches the container, and no
// container stdin is needed (docs/adr/0011). They implement the flags of
// FilterFlags with the usual meaning; grep patterns are RE2 (Go's regexp:
// the POSIX ERE most people write, no backreferences), or fixed strings
// with -F.

// FilterFlags are the flags each filter accepts after a pipe.
func FilterFlags() map[string]map[string]Value {
	return map[string]map[string]Value{
		"grep": {"-i": None, "-v": None, "-c": None, "-n": None, "-F": None, "-E": None, "-w": None, "-x": None, "-m": Number, "-e": Pattern},
		"head": {"-n": Number, "-c": Number},
		"tail": {"-n": Number, "-c": Number},
		"wc":   {"-l": None, "-w": None, "-c": None, "-m": None},
	}
}

// MaxFilterInput bounds what a filter reads: the first command's output
// beyond it is cut (and the command stopped) before filtering.
const MaxFilterInput = 16 << 20

// RunFilter applies the filter argv (accepted by Policy.Check) to in and
// writes its output to out, returning its exit status as the command
// would: grep 1 when no line is selected, else 0.
func RunFilter(argv []string, in []byte, out io.Writer) (int, error) {
	opts, operands := filterArgs(argv[0], argv[1:])
	switch argv[0] {
	case "grep":
		return grep(opts, operands, in, out)
	case "head":
		return 0, write(out, head(opts, in))
	case "tail":
		return 0, write(out, tail(opts, in))
	case "wc":
		return 0, write(out, []byte(wc(opts, in)))
	}
	return 2, fmt.Errorf("%s is not a filter", argv[0])
}

func write(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// filterArgs splits the arguments of filter name into flags (with their
// values) and operands.
func filterArgs(name string, args []string) (map[string]string, []string) {
	flags := FilterFlags()[name]
	opts := map[string]string{}
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		v, isFlag := flags[a]
		switch {
		case a == "--":
			return opts, append(operands, args[i+1:]...)
		case isFlag && v != None && i+1 < len(args):
			opts[a] = args[i+1]
			i++
		case isFlag:
			opts[a] = ""
		default:
			operands = append(operands, a)
		}
	}
	return opts, operands
}

func lines(in []byte) [][]byte {
	if len(in) == 0 {
		return nil
	}
	ls := bytes.SplitAfter(in, []byte("\n"))
	if len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	return ls
}

func num(opts map[string]string, flag string, def int) (int, bool) {
	v, ok := opts[flag]
	if !ok {
		return def, false
	}
	n, _ := strconv.Atoi(v)
	return n, true
}

func head(opts map[string]string, in []byte) []byte {
	if c, ok := num(opts, "-c", 0); ok {
		return in[:min(c, len(in))]
	}
	n, _ := num(opts, "-n", 10)
	ls := lines(in)
	return bytes.Join(ls[:min(n, len(ls))], nil)
}

func tail(opts map[string]string, in []byte) []byte {
	if c, ok := num(opts, "-c", 0); ok {
		return in[max(0, len(in)-c):]
	}
	n, _ := num(opts, "-n", 10)
	ls := lines(in)
	return bytes.Join(ls[max(0, len(ls)-n):], nil)
}

func wc(opts map[string]string, in []byte) string {
	counts := []struct {
		flag string
		n    int
	}{
		{"-l", bytes.Count(in, []byte("\n"))},
		{"-w", len(bytes.Fields(in))},
		{"-m", utf8.RuneCount(in)},
		{"-c", len(in)},
	}
	var out []int
	for _, c := range counts {
		if _, ok := opts[c.flag]; ok {
			out = append(out, c.n)
		}
	}
	if len(out) == 0 {
		out = []int{counts[0].n, counts[1].n, counts[3].n}
	}
	if len(out) == 1 {
		return strconv.Itoa(out[0]) + "\n"
	}
	parts := make([]string, len(out))
	for i, n := range out {
		parts[i] = fmt.Sprintf("%7d", n)
	}
	return strings.Join(parts, " ") + "\n"
}

func grep(opts map[string]string, operands []string, in []byte, out io.Writer) (int, error) {
	pattern, ok := opts["-e"]
	if !ok && len(operands) > 0 {
		pattern = operands[0]
	}
	expr := pattern
	if _, fixed := opts["-F"]; fixed {
		expr = regexp.QuoteMeta(pattern)
	}
	if _, ok := opts["-w"]; ok {
		expr = `\b(?:` + expr + `)\b`
	}
	if _, ok := opts["-x"]; ok {
		expr = `^(?:` + expr + `)$`
	}
	if _, ok := opts["-i"]; ok {
		expr = `(?i)` + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return 2, fmt.Errorf("grep: bad pattern %q: %w", pattern, err)
	}
	_, invert := opts["-v"]
	_, count := opts["-c"]
	_, number := opts["-n"]
	limit, limited := num(opts, "-m", 0)
	var b bytes.Buffer
	selected := 0
	for i, l := range lines(in) {
		if limited && selected >= limit {
			break
		}
		if re.Match(bytes.TrimSuffix(l, []byte("\n"))) == invert {
			continue
		}
		selected++
		if count {
			continue
		}
		if number {
			b.WriteString(strconv.Itoa(i+1) + ":")
		}
		b.Write(l)
		if !bytes.HasSuffix(l, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	if count {
		b.WriteString(strconv.Itoa(selected) + "\n")
	}
	if err := write(out, b.Bytes()); err != nil {
		return 2, err
	}
	if selected == 0 {
		return 1, nil
	}
	return 0, nil
}
