package manifest

import (
	"errors"
	"strings"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/terminal"
)

// TerminalPolicySpec is a terminal.Policy named by metadata.name: what the
// sessions of Role may do in Environment (empty: every environment
// without a policy of its own).
type TerminalPolicySpec struct {
	Role           tenancy.Role      `json:"role"`
	Environment    string            `json:"environment,omitempty"`
	Mode           terminal.Mode     `json:"mode"`
	Commands       []string          `json:"commands,omitempty"`
	Paths          []string          `json:"paths,omitempty"`
	MaxLineBytes   int               `json:"maxLineBytes,omitempty"`
	MaxOutputBytes int64             `json:"maxOutputBytes,omitempty"`
	CommandTimeout resource.Duration `json:"commandTimeout,omitzero"`
	IdleTimeout    resource.Duration `json:"idleTimeout,omitzero"`
	MaxDuration    resource.Duration `json:"maxDuration,omitzero"`
}

// Policy returns the policy s describes, named name.
func (s TerminalPolicySpec) Policy(name string) terminal.Policy {
	return terminal.Policy{Name: name, Role: s.Role, Environment: s.Environment, Mode: s.Mode, Commands: s.Commands, Paths: s.Paths,
		MaxLineBytes: s.MaxLineBytes, MaxOutputBytes: s.MaxOutputBytes, CommandTimeout: s.CommandTimeout,
		IdleTimeout: s.IdleTimeout, MaxDuration: s.MaxDuration}
}

// addFields adds err's field errors under prefix, leaving out "name"
// (metadata.name is checked on its own).
func addFields(errs *resource.Errors, prefix string, err error) {
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		errs.Add(strings.TrimSuffix(prefix, "."), "%v", err)
		return
	}
	for _, f := range ve.Fields {
		if f.Path == "name" {
			continue
		}
		errs.Add(prefix+f.Path, "%s", f.Reason)
	}
}
