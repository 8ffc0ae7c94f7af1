package platform

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/terminal"
)

// ApplyTerminalPolicy creates pol, or replaces it (at its
// resourceVersion when set): platform admins only, validated and audited.
// It returns what it did: "created", "updated" or "unchanged".
func (p *Platform) ApplyTerminalPolicy(ctx context.Context, tx Tx, c Caller, pol terminal.Policy) (terminal.Policy, string, error) {
	if err := c.may(authz.TerminalPolicyManage, authz.Platform); err != nil {
		return terminal.Policy{}, "", err
	}
	if err := pol.Validate(); err != nil {
		return terminal.Policy{}, "", err
	}
	cur, err := tx.GetTerminalPolicy(ctx, pol.Name)
	now := p.Clock.Now()
	verb := "create"
	switch {
	case errors.Is(err, resource.ErrNotFound):
		pol.ResourceVersion, pol.CreatedBy, pol.CreatedAt, pol.UpdatedAt = 1, c.User, now, now
		err = tx.PutTerminalPolicy(ctx, pol, 0)
	case err != nil:
		return terminal.Policy{}, "", fmt.Errorf("terminal policy %s: %w", pol.Name, err)
	case samePolicy(cur, pol):
		return cur, "unchanged", nil
	default:
		if pol.ResourceVersion != 0 && pol.ResourceVersion != cur.ResourceVersion {
			return terminal.Policy{}, "", fmt.Errorf("terminal policy %s is at version %d, not %d: %w", pol.Name, cur.ResourceVersion, pol.ResourceVersion, resource.ErrConflict)
		}
		verb = "update"
		pol.ResourceVersion, pol.CreatedBy, pol.CreatedAt, pol.UpdatedAt = cur.ResourceVersion+1, cur.CreatedBy, cur.CreatedAt, now
		err = tx.PutTerminalPolicy(ctx, pol, cur.ResourceVersion)
	}
	if err != nil {
		return terminal.Policy{}, "", fmt.Errorf("%s terminal policy %s: %w", verb, pol.Name, err)
	}
	_, err = audit.Append(ctx, tx, now, c.Actor, audit.Event{Action: "terminal-policy." + verb, Target: "terminal-policies/" + pol.Name,
		Summary: fmt.Sprintf("%sd terminal policy %s: %s sessions for %s in %s; commands %s; paths %s", verb, pol.Name, pol.Mode,
			pol.Role, orAll(pol.Environment), strings.Join(pol.Commands, ","), strings.Join(pol.Paths, ","))})
	return pol, verb + "d", err
}

// samePolicy reports whether a and b say the same, bookkeeping aside.
func samePolicy(a, b terminal.Policy) bool {
	a.ResourceVersion, a.CreatedBy, a.CreatedAt, a.UpdatedAt = 0, "", time.Time{}, time.Time{}
	b.ResourceVersion, b.CreatedBy, b.CreatedAt, b.UpdatedAt = 0, "", time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

func orAll(env string) string {
	if env == "" {
		return "every environment"
	}
	return "environment " + env
}

// DeleteTerminalPolicy deletes the policy name at version rv.
func (p *Platform) DeleteTerminalPolicy(ctx context.Context, tx Tx, c Caller, name string, rv int64) error {
	if err := c.may(authz.TerminalPolicyManage, authz.Platform); err != nil {
		return err
	}
	if err := tx.DeleteTerminalPolicy(ctx, name, rv); err != nil {
		return fmt.Errorf("delete terminal policy %s: %w", name, err)
	}
	_, err := audit.Append(ctx, tx, p.Clock.Now(), c.Actor, audit.Event{Action: "terminal-policy.delete",
		Target: "terminal-policies/" + name, Summary: "deleted terminal policy " + name})
	return err
}

// TerminalPolicies lists the policies by name.
func (p *Platform) TerminalPolicies(ctx context.Context, tx Tx, c Caller) ([]terminal.Policy, error) {
	if err := c.may(authz.TerminalPolicyRead, authz.Platform); err != nil {
		return nil, err
	}
	return tx.ListTerminalPolicies(ctx, "", MaxTerminalPolicies)
}

// TerminalSessions lists the sessions of tenant (every tenant: platform
// callers only) newest first, those before the id before, at most limit;
// only those whose project c may read sessions of.
func (p *Platform) TerminalSessions(ctx context.Context, tx Tx, c Caller, tenant, before string, limit int) ([]terminal.Session, error) {
	if tenant == "" {
		if err := c.may(authz.TerminalSessionRead, authz.Platform); err != nil {
			return nil, err
		}
	}
	limit = resource.ListOptions{Limit: limit}.PageLimit()
	all, err := tx.ListTerminalSessions(ctx, tenant, before, limit)
	if err != nil {
		return nil, fmt.Errorf("terminal sessions: %w", err)
	}
	out := make([]terminal.Session, 0, len(all))
	for _, s := range all {
		if c.may(authz.TerminalSessionRead, terminalScope(s.Target)) == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// TerminalSession returns session id and its commands.
func (p *Platform) TerminalSession(ctx context.Context, tx Tx, c Caller, id string) (terminal.Session, []terminal.Command, error) {
	s, err := tx.GetTerminalSession(ctx, id)
	if err != nil {
		return terminal.Session{}, nil, fmt.Errorf("terminal session %s: %w", id, err)
	}
	if err := c.may(authz.TerminalSessionRead, terminalScope(s.Target)); err != nil {
		return terminal.Session{}, nil, err
	}
	cmds, err := tx.TerminalCommands(ctx, id)
	return s, cmds, err
}

// MaxRecordingBytes bounds a recording ReplayTerminal returns.
const MaxRecordingBytes = 64 << 20

// ErrRecordingTampered: a recording's SHA-256 is not the one the session
// recorded when it ended.
var ErrRecordingTampered = errors.New("terminal recording does not match its recorded SHA-256")

// ReplayTerminal returns the recording of ended session id after checking
// it against the SHA-256 recorded when the session ended.
func (p *Platform) ReplayTerminal(ctx context.Context, tx Tx, c Caller, id string) (terminal.Session, []byte, error) {
	s, _, err := p.TerminalSession(ctx, tx, c, id)
	if err != nil {
		return terminal.Session{}, nil, err
	}
	if !s.Ended() {
		return s, nil, resource.Refused("terminal session %s has not ended yet", id)
	}
	path := filepath.Join(p.Terminal.RecordingDir, filepath.Base(s.Recording))
	fi, err := os.Stat(path)
	if err != nil {
		return s, nil, fmt.Errorf("recording of %s: %w", id, err)
	}
	if fi.Size() > MaxRecordingBytes {
		return s, nil, resource.Refused("recording of %s has %d bytes, more than the %d a replay returns", id, fi.Size(), MaxRecordingBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return s, nil, fmt.Errorf("recording of %s: %w", id, err)
	}
	if sum := sha256Hex(b); sum != s.RecordingSHA256 {
		return s, nil, fmt.Errorf("%s: %w (stored %s, now %s)", id, ErrRecordingTampered, s.RecordingSHA256, sum)
	}
	return s, b, nil
}
