package terminal

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// HardMaxLineBytes bounds every submitted line whatever the policy says.
const HardMaxLineBytes = 4096

// MaxStages bounds the commands of one pipeline.
const MaxStages = 4

// MaxWords bounds the words of one command.
const MaxWords = 32

// Reason is why a line was refused: a stable code for the audit trail and
// the message catalogue.
type Reason string

// Reasons a restricted line is refused.
const (
	ReasonEmpty       Reason = "empty"
	ReasonTooLong     Reason = "too-long"
	ReasonEncoding    Reason = "encoding"
	ReasonControl     Reason = "control-character"
	ReasonUnicode     Reason = "unicode"
	ReasonSyntax      Reason = "syntax"
	ReasonList        Reason = "list"
	ReasonAndOr       Reason = "and-or"
	ReasonBackground  Reason = "background"
	ReasonNegation    Reason = "negation"
	ReasonCompound    Reason = "compound"
	ReasonSubstitute  Reason = "substitution"
	ReasonExpansion   Reason = "expansion"
	ReasonRedirect    Reason = "redirection"
	ReasonAssign      Reason = "assignment"
	ReasonComment     Reason = "comment"
	ReasonEscape      Reason = "escape"
	ReasonGlob        Reason = "glob"
	ReasonTooMany     Reason = "too-many"
	ReasonCommand     Reason = "command-not-allowed"
	ReasonFilter      Reason = "filter-not-allowed"
	ReasonFlag        Reason = "flag-not-allowed"
	ReasonValue       Reason = "value-not-allowed"
	ReasonOperand     Reason = "operand-not-allowed"
	ReasonPath        Reason = "path-not-allowed"
	ReasonNotAccepted Reason = "shell-mode"
)

// Refusal is a refused line: its reason code and a detail in English for
// the audit record (the user sees the catalogue's message for the code
// with the detail).
type Refusal struct {
	Reason Reason
	Detail string
}

func (r *Refusal) Error() string { return string(r.Reason) + ": " + r.Detail }

func refuse(reason Reason, format string, args ...any) *Refusal {
	return &Refusal{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Words parses line as bash does and returns the words of each command of
// a pipeline after quote removal, or the refusal. Only a simple command,
// optionally piped (|) into further simple commands, is accepted, and only
// when each word is a literal: plain text, single-quoted text, or
// double-quoted text without expansions or escapes. Everything else that
// could make the shell do more than run the words (lists, && and ||, &,
// subshells and blocks, command and process substitution, parameter,
// arithmetic, tilde, brace and glob expansion, redirections, heredocs,
// assignments, comments, backslash escapes) is refused with its reason.
// The line must be at most maxBytes long, valid UTF-8, and free of control
// and format characters and non-ASCII space.
func Words(line string, maxBytes int) ([][]string, *Refusal) {
	if r := checkCharacters(line, maxBytes); r != nil {
		return nil, r
	}
	if strings.TrimSpace(line) == "" {
		return nil, refuse(ReasonEmpty, "the line is empty")
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(true)).
		Parse(strings.NewReader(line), "")
	if err != nil {
		return nil, refuse(ReasonSyntax, "%v", err)
	}
	if len(f.Last) > 0 {
		return nil, refuse(ReasonComment, "comments are not allowed")
	}
	if len(f.Stmts) != 1 {
		return nil, refuse(ReasonList, "only one command is allowed, found %d statements", len(f.Stmts))
	}
	var stages []*syntax.Stmt
	if r := pipeline(f.Stmts[0], &stages); r != nil {
		return nil, r
	}
	if len(stages) > MaxStages {
		return nil, refuse(ReasonTooMany, "at most %d commands may be piped, found %d", MaxStages, len(stages))
	}
	out := make([][]string, 0, len(stages))
	for _, st := range stages {
		words, r := simple(st)
		if r != nil {
			return nil, r
		}
		out = append(out, words)
	}
	return out, nil
}

func checkCharacters(line string, maxBytes int) *Refusal {
	if maxBytes <= 0 || maxBytes > HardMaxLineBytes {
		maxBytes = HardMaxLineBytes
	}
	if len(line) > maxBytes {
		return refuse(ReasonTooLong, "the line has %d bytes, at most %d are allowed", len(line), maxBytes)
	}
	if !utf8.ValidString(line) {
		return refuse(ReasonEncoding, "the line is not valid UTF-8")
	}
	for i, r := range line {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return refuse(ReasonControl, "control character U+%04X at byte %d", r, i)
		case r < 0x80:
		case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) || unicode.Is(unicode.Cs, r) || r == utf8.RuneError:
			return refuse(ReasonUnicode, "invisible or private character U+%04X at byte %d", r, i)
		case unicode.IsSpace(r):
			return refuse(ReasonUnicode, "non-ASCII space U+%04X at byte %d", r, i)
		}
	}
	return nil
}

// pipeline appends the statements of a pipe (a | b | c) to stages in
// order, refusing every other way to combine statements.
func pipeline(st *syntax.Stmt, stages *[]*syntax.Stmt) *Refusal {
	if r := plainStmt(st); r != nil {
		return r
	}
	b, ok := st.Cmd.(*syntax.BinaryCmd)
	if !ok {
		*stages = append(*stages, st)
		return nil
	}
	switch b.Op {
	case syntax.Pipe:
	case syntax.AndStmt, syntax.OrStmt:
		return refuse(ReasonAndOr, "%s is not allowed", b.Op)
	default:
		return refuse(ReasonRedirect, "%s is not allowed", b.Op)
	}
	if r := pipeline(b.X, stages); r != nil {
		return r
	}
	return pipeline(b.Y, stages)
}

func plainStmt(st *syntax.Stmt) *Refusal {
	switch {
	case len(st.Comments) > 0:
		return refuse(ReasonComment, "comments are not allowed")
	case st.Background:
		return refuse(ReasonBackground, "& (background) is not allowed")
	case st.Coprocess:
		return refuse(ReasonBackground, "coproc is not allowed")
	case st.Disown:
		return refuse(ReasonBackground, "&! is not allowed")
	case st.Semicolon.IsValid():
		return refuse(ReasonList, "; is not allowed")
	case st.Negated:
		return refuse(ReasonNegation, "! is not allowed")
	case len(st.Redirs) > 0:
		return refuse(ReasonRedirect, "redirection %s is not allowed", st.Redirs[0].Op)
	case st.Cmd == nil:
		return refuse(ReasonEmpty, "the statement has no command")
	}
	return nil
}

func simple(st *syntax.Stmt) ([]string, *Refusal) {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok {
		return nil, compound(st.Cmd)
	}
	if len(call.Assigns) > 0 {
		return nil, refuse(ReasonAssign, "variable assignment %s= is not allowed", call.Assigns[0].Name.Value)
	}
	if len(call.Args) == 0 {
		return nil, refuse(ReasonEmpty, "the command has no words")
	}
	if len(call.Args) > MaxWords {
		return nil, refuse(ReasonTooMany, "a command may have at most %d words, found %d", MaxWords, len(call.Args))
	}
	words := make([]string, 0, len(call.Args))
	for _, w := range call.Args {
		s, r := literal(w)
		if r != nil {
			return nil, r
		}
		words = append(words, s)
	}
	return words, nil
}

func compound(c syntax.Command) *Refusal {
	switch c := c.(type) {
	case *syntax.Subshell:
		return refuse(ReasonCompound, "subshells ( ... ) are not allowed")
	case *syntax.Block:
		return refuse(ReasonCompound, "blocks { ... } are not allowed")
	case *syntax.DeclClause:
		return refuse(ReasonAssign, "%s is not allowed", c.Variant.Value)
	case *syntax.ArithmCmd, *syntax.LetClause:
		return refuse(ReasonExpansion, "arithmetic commands are not allowed")
	case *syntax.TimeClause:
		return refuse(ReasonCompound, "time is not allowed")
	case *syntax.FuncDecl:
		return refuse(ReasonCompound, "function definitions are not allowed")
	case *syntax.TestClause:
		return refuse(ReasonCompound, "[[ ... ]] is not allowed")
	default:
		return refuse(ReasonCompound, "compound commands (%T) are not allowed", c)
	}
}

// literal returns w after quote removal when each of its parts is literal
// text that the shell would not expand or unescape.
func literal(w *syntax.Word) (string, *Refusal) {
	var b strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			if r := unquoted(p.Value); r != nil {
				return "", r
			}
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			if p.Dollar {
				return "", refuse(ReasonEscape, "$'...' quoting is not allowed")
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			if p.Dollar {
				return "", refuse(ReasonEscape, "$\"...\" quoting is not allowed")
			}
			for _, q := range p.Parts {
				lit, ok := q.(*syntax.Lit)
				if !ok {
					return "", partRefusal(q)
				}
				if strings.ContainsAny(lit.Value, "\\$`!") {
					return "", refuse(ReasonEscape, "\\, $, ` and ! inside double quotes are not allowed; use single quotes")
				}
				b.WriteString(lit.Value)
			}
		default:
			return "", partRefusal(p)
		}
	}
	return b.String(), nil
}

// unquoted refuses the characters of unquoted text that bash would treat
// specially (escapes, globs, braces, tilde, history) even when the parser
// keeps them literal.
func unquoted(s string) *Refusal {
	if i := strings.IndexAny(s, "\\"); i >= 0 {
		return refuse(ReasonEscape, "backslash escapes are not allowed; use single quotes")
	}
	if i := strings.IndexAny(s, "*?[]"); i >= 0 {
		return refuse(ReasonGlob, "unquoted %q (glob) is not allowed", s[i])
	}
	if i := strings.IndexAny(s, "{}~$`!#"); i >= 0 {
		return refuse(ReasonExpansion, "unquoted %q is not allowed; quote it", s[i])
	}
	return nil
}

func partRefusal(p syntax.WordPart) *Refusal {
	switch p := p.(type) {
	case *syntax.CmdSubst:
		return refuse(ReasonSubstitute, "command substitution $( ) or ` ` is not allowed")
	case *syntax.ProcSubst:
		return refuse(ReasonSubstitute, "process substitution %s( ) is not allowed", p.Op)
	case *syntax.ParamExp:
		return refuse(ReasonExpansion, "parameter expansion $%s is not allowed", paramName(p))
	case *syntax.ArithmExp:
		return refuse(ReasonExpansion, "arithmetic expansion $(( )) is not allowed")
	case *syntax.ExtGlob:
		return refuse(ReasonGlob, "extended globs are not allowed")
	case *syntax.BraceExp:
		return refuse(ReasonExpansion, "brace expansion is not allowed")
	default:
		return refuse(ReasonExpansion, "%T is not allowed", p)
	}
}

func paramName(p *syntax.ParamExp) string {
	if p.Param == nil {
		return ""
	}
	return p.Param.Value
}
