package terminal

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Mode is what a session may do.
type Mode string

// Modes.
const (
	// Restricted sessions run only lines the policy accepts, each as argv
	// through exec, never through a shell.
	Restricted Mode = "restricted"
	// Shell sessions get an interactive shell in a PTY; their lines are
	// audited as best effort and not filtered (see docs/terminal.md).
	Shell Mode = "shell"
)

// Limits bound what a policy may set.
const (
	MaxPolicyPaths      = 32
	MaxPathPatternLen   = 256
	MaxOutputLimit      = 16 << 20
	MaxSessionLimit     = 12 * time.Hour
	MaxCommandTimeLimit = 10 * time.Minute
)

// Defaults for the limits a policy leaves unset.
const (
	DefaultLineBytes      = 1024
	DefaultOutputBytes    = 1 << 20
	DefaultIdleTimeout    = 15 * time.Minute
	DefaultMaxDuration    = time.Hour
	DefaultCommandTimeout = 30 * time.Second
)

// Policy is what terminal sessions of one role in one environment may do.
// It is data (manifest kind TerminalPolicy); the commands it can allow are
// the vetted Catalogue's.
type Policy struct {
	Name string `json:"name"`
	// Role is the Berth role whose sessions this policy governs.
	Role tenancy.Role `json:"role"`
	// Environment names the environments it governs ("prod"); empty: all
	// environments without a policy of their own.
	Environment string `json:"environment,omitempty"`
	Mode        Mode   `json:"mode"`
	// Commands are the Catalogue commands a restricted session may run.
	Commands []string `json:"commands,omitempty"`
	// Paths are the paths those commands may read: "/var/log/**" (every
	// path beneath /var/log) or a path.Match pattern of a whole path
	// ("/var/log/*.log").
	Paths          []string          `json:"paths,omitempty"`
	MaxLineBytes   int               `json:"maxLineBytes,omitempty"`
	MaxOutputBytes int64             `json:"maxOutputBytes,omitempty"`
	CommandTimeout resource.Duration `json:"commandTimeout,omitzero"`
	IdleTimeout    resource.Duration `json:"idleTimeout,omitzero"`
	MaxDuration    resource.Duration `json:"maxDuration,omitzero"`
	// Optimistic concurrency and bookkeeping, set by the service.
	ResourceVersion int64     `json:"resourceVersion,omitempty"`
	CreatedBy       string    `json:"createdBy,omitempty"`
	CreatedAt       time.Time `json:"createdAt,omitzero"`
	UpdatedAt       time.Time `json:"updatedAt,omitzero"`
}

// Validate returns every field error of p at once.
func (p Policy) Validate() error {
	var errs resource.Errors
	errs.CheckName("name", p.Name)
	if !p.Role.Valid() {
		errs.Add("role", "unknown role %q", p.Role)
	}
	if p.Environment != "" {
		errs.CheckName("environment", p.Environment)
	}
	switch p.Mode {
	case Restricted:
		p.validateRestricted(&errs)
	case Shell:
		if len(p.Commands) > 0 || len(p.Paths) > 0 {
			errs.Add("commands", "a shell policy filters nothing: leave commands and paths empty")
		}
	default:
		errs.Add("mode", "must be %q or %q, got %q", Restricted, Shell, p.Mode)
	}
	if p.MaxLineBytes < 0 || p.MaxLineBytes > HardMaxLineBytes {
		errs.Add("maxLineBytes", "must be between 0 (default %d) and %d", DefaultLineBytes, HardMaxLineBytes)
	}
	if p.MaxOutputBytes < 0 || p.MaxOutputBytes > MaxOutputLimit {
		errs.Add("maxOutputBytes", "must be between 0 (default %d) and %d", DefaultOutputBytes, MaxOutputLimit)
	}
	checkDuration(&errs, "commandTimeout", p.CommandTimeout, MaxCommandTimeLimit)
	checkDuration(&errs, "idleTimeout", p.IdleTimeout, MaxSessionLimit)
	checkDuration(&errs, "maxDuration", p.MaxDuration, MaxSessionLimit)
	return errs.Err()
}

func (p Policy) validateRestricted(errs *resource.Errors) {
	if len(p.Commands) == 0 {
		errs.Add("commands", "a restricted policy must allow at least one command")
	}
	cat := Catalogue()
	for i, c := range p.Commands {
		if _, ok := cat[c]; !ok {
			errs.Add(fmt.Sprintf("commands[%d]", i), "%q is not a command restricted sessions can run; want one of %s", c, strings.Join(CommandNames(), ", "))
		}
		if slices.Index(p.Commands, c) != i {
			errs.Add(fmt.Sprintf("commands[%d]", i), "%q is listed twice", c)
		}
	}
	if len(p.Paths) == 0 {
		errs.Add("paths", "a restricted policy must allow at least one path")
	}
	if len(p.Paths) > MaxPolicyPaths {
		errs.Add("paths", "at most %d paths, got %d", MaxPolicyPaths, len(p.Paths))
	}
	for i, pat := range p.Paths {
		if r := validPattern(pat); r != "" {
			errs.Add(fmt.Sprintf("paths[%d]", i), "%s", r)
		}
	}
}

func validPattern(pat string) string {
	switch {
	case len(pat) > MaxPathPatternLen:
		return fmt.Sprintf("must be at most %d characters", MaxPathPatternLen)
	case !strings.HasPrefix(pat, "/"):
		return fmt.Sprintf("must be an absolute path, got %q", pat)
	case pat == "/" || pat == "/**":
		return "must not allow the whole file system"
	}
	base := strings.TrimSuffix(pat, "/**")
	if path.Clean(base) != base || strings.Contains(base, "**") {
		return fmt.Sprintf("must be a clean path, optionally ending in /**, got %q", pat)
	}
	if _, err := path.Match(base, "/"); err != nil {
		return fmt.Sprintf("is not a valid pattern: %v", err)
	}
	return ""
}

func checkDuration(errs *resource.Errors, field string, d resource.Duration, max time.Duration) {
	if d.Duration < 0 || d.Duration > max {
		errs.Add(field, "must be between 0 (default) and %s, got %s", max, d.Duration)
	}
}

// Limits are a policy's limits with its defaults applied.
type Limits struct {
	LineBytes      int
	OutputBytes    int64
	CommandTimeout time.Duration
	IdleTimeout    time.Duration
	MaxDuration    time.Duration
}

// Limits returns p's limits, defaults filled in.
func (p Policy) Limits() Limits {
	l := Limits{LineBytes: p.MaxLineBytes, OutputBytes: p.MaxOutputBytes, CommandTimeout: p.CommandTimeout.Duration,
		IdleTimeout: p.IdleTimeout.Duration, MaxDuration: p.MaxDuration.Duration}
	l.LineBytes = cmpOr(l.LineBytes, DefaultLineBytes)
	l.OutputBytes = cmpOr(l.OutputBytes, DefaultOutputBytes)
	l.CommandTimeout = cmpOr(l.CommandTimeout, DefaultCommandTimeout)
	l.IdleTimeout = cmpOr(l.IdleTimeout, DefaultIdleTimeout)
	l.MaxDuration = cmpOr(l.MaxDuration, DefaultMaxDuration)
	return l
}

func cmpOr[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// Decision is the policy's answer to one submitted line.
type Decision struct {
	// Allowed: run Argv, a pipeline of commands, each as argv through exec.
	Allowed bool
	Argv    [][]string
	// Rule names what decided: "policy/<name>/<command>[|<command>...]"
	// when allowed, "policy/<name>/<reason>" when refused.
	Rule    string
	Refusal *Refusal
}

// Check decides a line submitted in a restricted session under p. p is
// assumed valid. The returned argv is new: the caller may keep it.
func (p *Policy) Check(line string) Decision {
	if p.Mode != Restricted {
		return p.refused(refuse(ReasonNotAccepted, "policy %s is not restricted", p.Name))
	}
	stages, r := Words(line, p.Limits().LineBytes)
	if r != nil {
		return p.refused(r)
	}
	cat := Catalogue()
	names := make([]string, 0, len(stages))
	for i, words := range stages {
		name := words[0]
		if r := commandName(name); r != nil {
			return p.refused(r)
		}
		spec, ok := cat[name]
		if !ok || !slices.Contains(p.Commands, name) {
			return p.refused(refuse(ReasonCommand, "%q is not allowed; allowed: %s", name, strings.Join(p.Commands, ", ")))
		}
		if i > 0 {
			// After a pipe the command runs in Berth (filter.go): its flags.
			flags, ok := FilterFlags()[name]
			if !ok {
				return p.refused(refuse(ReasonFilter, "%s cannot read another command's output", name))
			}
			spec.Flags = flags
		}
		if r := p.checkArgs(name, spec, words[1:], i == 0); r != nil {
			return p.refused(r)
		}
		names = append(names, name)
	}
	return Decision{Allowed: true, Argv: stages, Rule: "policy/" + p.Name + "/" + strings.Join(names, "|")}
}

func (p *Policy) refused(r *Refusal) Decision {
	return Decision{Rule: "policy/" + p.Name + "/" + string(r.Reason), Refusal: r}
}

func commandName(name string) *Refusal {
	for _, r := range name {
		if r > 0x7e {
			return refuse(ReasonUnicode, "command name %q has non-ASCII characters (look-alikes are refused)", name)
		}
	}
	if strings.Contains(name, "/") {
		return refuse(ReasonCommand, "command %q: give the bare name, not a path", name)
	}
	return nil
}

// checkPath accepts an absolute, clean path inside one of p's patterns.
func (p *Policy) checkPath(s string) *Refusal {
	for _, r := range s {
		if r <= 0x20 || r > 0x7e {
			return refuse(ReasonPath, "path %q: only printable ASCII without spaces is allowed", s)
		}
	}
	switch {
	case !strings.HasPrefix(s, "/"):
		return refuse(ReasonPath, "path %q must be absolute", s)
	case slices.Contains(strings.Split(s, "/"), ".."):
		return refuse(ReasonPath, "path %q must not contain ..", s)
	case path.Clean(s) != s:
		return refuse(ReasonPath, "path %q is not clean (want %q)", s, path.Clean(s))
	}
	for _, pat := range p.Paths {
		if matchPath(pat, s) {
			return nil
		}
	}
	return refuse(ReasonPath, "path %q is outside the allowed paths %s", s, strings.Join(p.Paths, ", "))
}

func matchPath(pat, s string) bool {
	if dir, ok := strings.CutSuffix(pat, "/**"); ok {
		return s == dir || strings.HasPrefix(s, dir+"/")
	}
	ok, err := path.Match(pat, s)
	return err == nil && ok
}
