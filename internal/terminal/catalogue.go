package terminal

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Value is what a flag's value or a command's operand must be.
type Value int

// Kinds of values.
const (
	None    Value = iota // a flag without a value
	Number               // 1 to 9 decimal digits
	Pattern              // any printable text without control characters (a grep pattern)
	Path                 // an absolute, clean path inside the policy's paths
)

// Spec is how one command may be called in a restricted session. The specs
// are vetted code, not policy data: a policy only chooses which of them it
// allows, so no policy can allow find -exec, less !, awk system() or sed e.
type Spec struct {
	// Flags maps each allowed flag, written exactly (no bundling such as
	// -in, no --name=value), to the value it takes as the next word.
	Flags map[string]Value
	// Pattern: the first operand is a pattern unless -e gave one (grep).
	Pattern bool
	// Paths: the operands are paths; at most MaxPaths.
	MaxPaths int
	// Source: the command may start a pipeline; then it needs a path
	// operand (stdin is never connected to a restricted command).
	Source bool
	// Filter: the command may read a previous command's output; then it
	// takes no path operand.
	Filter bool
}

var numberRE = regexp.MustCompile(`^[0-9]{1,9}$`)

// Catalogue is every command a restricted policy can allow, by exact
// argv[0]. It keeps nothing that can run another program, write a file,
// follow without end or read a path outside its operands.
func Catalogue() map[string]Spec {
	return map[string]Spec{
		"cat":  {Flags: map[string]Value{"-n": None}, MaxPaths: 8, Source: true},
		"tail": {Flags: map[string]Value{"-n": Number, "-c": Number, "-q": None, "-v": None}, MaxPaths: 8, Source: true, Filter: true},
		"head": {Flags: map[string]Value{"-n": Number, "-c": Number, "-q": None, "-v": None}, MaxPaths: 8, Source: true, Filter: true},
		"wc":   {Flags: map[string]Value{"-l": None, "-w": None, "-c": None, "-m": None}, MaxPaths: 8, Source: true, Filter: true},
		"ls":   {Flags: map[string]Value{"-l": None, "-a": None, "-h": None, "-t": None, "-r": None, "-1": None}, MaxPaths: 8, Source: true},
		"grep": {Flags: map[string]Value{
			"-i": None, "-v": None, "-c": None, "-n": None, "-F": None, "-E": None, "-w": None, "-x": None,
			"-o": None, "-h": None, "-H": None, "-l": None, "-s": None,
			"-m": Number, "-A": Number, "-B": Number, "-C": Number, "-e": Pattern,
		}, Pattern: true, MaxPaths: 8, Source: true, Filter: true},
	}
}

// CommandNames lists the catalogue's commands, sorted.
func CommandNames() []string {
	var names []string
	for n := range Catalogue() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// checkArgs checks the words after argv[0] against s. first tells whether
// the command starts the pipeline.
func (p *Policy) checkArgs(name string, s Spec, args []string, first bool) *Refusal {
	var operands []string
	havePattern := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			operands = append(operands, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			operands = append(operands, a)
			continue
		}
		v, ok := s.Flags[a]
		if !ok {
			return refuse(ReasonFlag, "%s does not allow %q; allowed: %s", name, a, flagList(s))
		}
		if v == None {
			continue
		}
		if i+1 >= len(args) {
			return refuse(ReasonValue, "%s %s needs a value", name, a)
		}
		i++
		if r := checkValue(name+" "+a, v, args[i]); r != nil {
			return r
		}
		if v == Pattern {
			havePattern = true
		}
	}
	if s.Pattern && !havePattern {
		if len(operands) == 0 {
			return refuse(ReasonOperand, "%s needs a pattern", name)
		}
		if r := checkValue(name+" pattern", Pattern, operands[0]); r != nil {
			return r
		}
		operands = operands[1:]
	}
	return p.checkPaths(name, s, operands, first)
}

func (p *Policy) checkPaths(name string, s Spec, paths []string, first bool) *Refusal {
	switch {
	case first && !s.Source:
		return refuse(ReasonCommand, "%s may only read another command's output", name)
	case !first && !s.Filter:
		return refuse(ReasonFilter, "%s cannot read another command's output", name)
	case first && len(paths) == 0:
		return refuse(ReasonOperand, "%s needs a path to read (stdin is not connected)", name)
	case !first && len(paths) > 0:
		return refuse(ReasonOperand, "%s reads the previous command's output and takes no path", name)
	case len(paths) > s.MaxPaths:
		return refuse(ReasonTooMany, "%s takes at most %d paths", name, s.MaxPaths)
	}
	for _, path := range paths {
		if r := p.checkPath(path); r != nil {
			return r
		}
	}
	return nil
}

func checkValue(what string, v Value, s string) *Refusal {
	switch v {
	case Number:
		if !numberRE.MatchString(s) {
			return refuse(ReasonValue, "%s wants a number of 1 to 9 digits, got %q", what, s)
		}
	case Pattern:
		if s == "" {
			return refuse(ReasonValue, "%s must not be empty", what)
		}
		for _, r := range s {
			if !unicode.IsPrint(r) {
				return refuse(ReasonValue, "%s must be printable, got U+%04X", what, r)
			}
		}
	}
	return nil
}

func flagList(s Spec) string {
	var fs []string
	for f := range s.Flags {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	return strings.Join(fs, " ")
}
