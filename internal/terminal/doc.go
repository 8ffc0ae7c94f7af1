// Package terminal is the guarded terminal's domain: the policy that decides
// each line a restricted session submits, the TerminalPolicy data that
// configures it, sessions and their per-command audit records.
//
// A restricted line is parsed as bash would parse it (mvdan.cc/sh/v3/syntax)
// and accepted only when it is a simple command, optionally piped into
// allowed filters, whose words are literals after quote removal; the result
// is argv lists run through exec, never a shell. It imports no HTTP, SQL or
// client-go.
package terminal
