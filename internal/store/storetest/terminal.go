package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/terminal"
)

// testTerminalRecords: terminal policies are kept at their versions;
// sessions list newest first, by tenant, and end at their version; commands
// come back in order.
func testTerminalRecords(t *testing.T, h *harness) {
	ctx := t.Context()
	pol := terminal.Policy{Name: "log-only", Role: tenancy.Viewer, Mode: terminal.Restricted, Commands: []string{"tail"},
		Paths: []string{"/var/log/**"}, ResourceVersion: 1, CreatedAt: T0}
	sessions := []terminal.Session{
		{ID: "s1", User: "erin", Target: terminal.Target{Tenant: "bank", Pod: "web-1"}, Policy: "log-only", Mode: terminal.Restricted, StartedAt: T0, ResourceVersion: 1},
		{ID: "s2", User: "erin", Target: terminal.Target{Tenant: "shop"}, Policy: "log-only", Mode: terminal.Restricted, StartedAt: T0, ResourceVersion: 1},
		{ID: "s3", User: "bob", Target: terminal.Target{Tenant: "bank"}, Policy: "log-only", Mode: terminal.Restricted, StartedAt: T0, ResourceVersion: 1},
	}
	cmds := []terminal.Command{
		{Session: "s1", Seq: 2, At: T0, Line: "rm -rf /", Rule: "policy/log-only/command-not-allowed", Reason: terminal.ReasonCommand, ExitCode: -1},
		{Session: "s1", Seq: 1, At: T0, Line: "tail -n 1 /var/log/a", Argv: [][]string{{"tail", "-n", "1", "/var/log/a"}}, Allowed: true, Rule: "policy/log-only/tail", DurationMS: 12},
	}
	h.tx(t, func(tx platform.Tx) error {
		if err := tx.PutTerminalPolicy(ctx, pol, 0); err != nil {
			return err
		}
		if err := tx.PutTerminalPolicy(ctx, pol, 0); !errors.Is(err, resource.ErrAlreadyExists) {
			t.Errorf("duplicate policy = %v, want ErrAlreadyExists", err)
		}
		for _, s := range sessions {
			if err := tx.CreateTerminalSession(ctx, s); err != nil {
				return err
			}
		}
		for _, c := range cmds {
			if err := tx.AddTerminalCommand(ctx, c); err != nil {
				return err
			}
		}
		if err := tx.AddTerminalCommand(ctx, cmds[0]); !errors.Is(err, resource.ErrAlreadyExists) {
			t.Errorf("duplicate command = %v, want ErrAlreadyExists", err)
		}
		return nil
	})
	h.tx(t, func(tx platform.Tx) error {
		p := pol
		p.Commands, p.ResourceVersion = []string{"tail", "grep"}, 2
		if err := tx.PutTerminalPolicy(ctx, p, 1); err != nil {
			return err
		}
		if err := tx.PutTerminalPolicy(ctx, p, 1); !errors.Is(err, resource.ErrConflict) {
			t.Errorf("stale policy update = %v, want ErrConflict", err)
		}
		s := sessions[0]
		s.EndedAt, s.EndReason, s.RecordingSHA256, s.ResourceVersion = T0.Add(60e9), "closed", "abc", 2
		if err := tx.UpdateTerminalSession(ctx, s, 1); err != nil {
			return err
		}
		if err := tx.UpdateTerminalSession(ctx, s, 1); !errors.Is(err, resource.ErrConflict) {
			t.Errorf("stale session update = %v, want ErrConflict", err)
		}
		return nil
	})
	h.view(t, func(tx platform.Tx) error {
		p, err := tx.GetTerminalPolicy(ctx, "log-only")
		if err != nil {
			return err
		}
		if !slices.Equal(p.Commands, []string{"tail", "grep"}) || p.ResourceVersion != 2 {
			t.Errorf("policy = %+v, want the update", p)
		}
		all, err := tx.ListTerminalSessions(ctx, "", "", 10)
		if err != nil {
			return err
		}
		if got := ids(all); !slices.Equal(got, []string{"s3", "s2", "s1"}) {
			t.Errorf("sessions = %v, want newest first", got)
		}
		bank, err := tx.ListTerminalSessions(ctx, "bank", "s3", 10)
		if err != nil {
			return err
		}
		if got := ids(bank); !slices.Equal(got, []string{"s1"}) {
			t.Errorf("bank sessions before s3 = %v, want [s1]", got)
		}
		if bank[0].EndReason != "closed" || bank[0].RecordingSHA256 != "abc" {
			t.Errorf("ended session = %+v", bank[0])
		}
		got, err := tx.TerminalCommands(ctx, "s1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]terminal.Command{cmds[1], cmds[0]}, got); diff != "" {
			t.Errorf("commands (-want +got):\n%s", diff)
		}
		if _, err := tx.GetTerminalSession(ctx, "s9"); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("missing session = %v, want ErrNotFound", err)
		}
		return nil
	})
	h.tx(t, func(tx platform.Tx) error { return tx.DeleteTerminalPolicy(ctx, "log-only", 2) })
}

func ids(ss []terminal.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}
