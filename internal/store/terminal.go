package store

import (
	"context"
	"strings"

	"berth.dev/berth/internal/terminal"
)

var (
	terminalPoliciesT = table{name: "terminal_policies", keys: []string{"name"}}
	terminalSessionsT = table{name: "terminal_sessions", keys: []string{"id"}, extra: []string{"tenant", "usr"}}
	terminalCommandsT = table{name: "terminal_commands", keys: []string{"session", "seq"}}
)

var _ terminal.Store = (*Tx)(nil)

// PutTerminalPolicy implements terminal.Store: create when prevRV is 0.
func (tx *Tx) PutTerminalPolicy(ctx context.Context, p terminal.Policy, prevRV int64) error {
	if prevRV == 0 {
		return tx.insert(ctx, terminalPoliciesT, []any{p.Name}, nil, p.ResourceVersion, p)
	}
	return tx.update(ctx, terminalPoliciesT, []any{p.Name}, nil, prevRV, p.ResourceVersion, p)
}

// GetTerminalPolicy implements terminal.Store.
func (tx *Tx) GetTerminalPolicy(ctx context.Context, name string) (p terminal.Policy, err error) {
	return p, tx.get(ctx, terminalPoliciesT, &p, name)
}

// DeleteTerminalPolicy implements terminal.Store.
func (tx *Tx) DeleteTerminalPolicy(ctx context.Context, name string, prevRV int64) error {
	return tx.del(ctx, terminalPoliciesT, []any{name}, prevRV)
}

// ListTerminalPolicies implements terminal.Store.
func (tx *Tx) ListTerminalPolicies(ctx context.Context, after string, limit int) ([]terminal.Policy, error) {
	return list[terminal.Policy](ctx, tx, terminalPoliciesT, nil, after, limit)
}

// CreateTerminalSession implements terminal.Store.
func (tx *Tx) CreateTerminalSession(ctx context.Context, s terminal.Session) error {
	return tx.insert(ctx, terminalSessionsT, []any{s.ID}, []any{s.Target.Tenant, s.User}, s.ResourceVersion, s)
}

// UpdateTerminalSession implements terminal.Store.
func (tx *Tx) UpdateTerminalSession(ctx context.Context, s terminal.Session, prevRV int64) error {
	return tx.update(ctx, terminalSessionsT, []any{s.ID}, []any{s.Target.Tenant, s.User}, prevRV, s.ResourceVersion, s)
}

// GetTerminalSession implements terminal.Store.
func (tx *Tx) GetTerminalSession(ctx context.Context, id string) (s terminal.Session, err error) {
	return s, tx.get(ctx, terminalSessionsT, &s, id)
}

// ListTerminalSessions implements terminal.Store.
func (tx *Tx) ListTerminalSessions(ctx context.Context, tenant, before string, limit int) ([]terminal.Session, error) {
	var conds []string
	var args []any
	if tenant != "" {
		conds, args = append(conds, "tenant = ?"), append(args, tenant)
	}
	if before != "" {
		conds, args = append(conds, "id < ?"), append(args, before)
	}
	q := "SELECT body FROM terminal_sessions"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return scanBodies[terminal.Session](ctx, tx, terminalSessionsT, q+" ORDER BY id DESC LIMIT ?", append(args, limit)...)
}

// AddTerminalCommand implements terminal.Store.
func (tx *Tx) AddTerminalCommand(ctx context.Context, c terminal.Command) error {
	return tx.insert(ctx, terminalCommandsT, []any{c.Session, c.Seq}, nil, 1, c)
}

// UpdateTerminalCommand implements terminal.Store.
func (tx *Tx) UpdateTerminalCommand(ctx context.Context, c terminal.Command) error {
	return tx.update(ctx, terminalCommandsT, []any{c.Session, c.Seq}, nil, 1, 2, c)
}

// TerminalCommands implements terminal.Store.
func (tx *Tx) TerminalCommands(ctx context.Context, session string) ([]terminal.Command, error) {
	return scanBodies[terminal.Command](ctx, tx, terminalCommandsT,
		"SELECT body FROM terminal_commands WHERE session = ? ORDER BY seq", session)
}
