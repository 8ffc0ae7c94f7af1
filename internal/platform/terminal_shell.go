package platform

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/terminal"
)

// ShellArgv is what a shell session runs in the container.
var ShellArgv = []string{"sh"}

// TerminalShell runs an interactive shell in shell session s with a
// terminal: keystrokes from in, what it shows to out, both recorded. Each
// line the user submits (up to Enter) is recorded and audited as best
// effort: the shell, not Berth, interprets the keystrokes, so a line
// reconstructed from them is evidence, not control (docs/terminal.md).
// It returns when the shell exits or in ends.
func (p *Platform) TerminalShell(ctx context.Context, s *TerminalSession, in io.Reader, out io.Writer) error {
	s.run.Lock()
	defer s.run.Unlock()
	if err := p.checkAlive(ctx, s); err != nil {
		return err
	}
	if s.Mode != terminal.Shell {
		return fmt.Errorf("session %s is restricted: it runs lines, not a shell", s.ID)
	}
	ctx, cancel := context.WithTimeout(ctx, s.limits.MaxDuration)
	defer cancel()
	keys := &keystrokes{p: p, s: s, ctx: ctx}
	_, err := p.Terminal.Cluster.Exec(ctx, s.cluster, terminal.ExecSpec{Namespace: s.Target.Namespace, Pod: s.Target.Pod,
		Container: s.Target.Container, Argv: ShellArgv, Stdin: io.TeeReader(in, keys), Stdout: output{s: s, now: p.Clock.Now, w: out}, TTY: true})
	if s.rec.Err() != nil {
		return p.failRecording(ctx, s, s.rec.Err())
	}
	return err
}

// keystrokes records what the user typed and audits each line at Enter.
type keystrokes struct {
	p    *Platform
	s    *TerminalSession
	ctx  context.Context
	line bytes.Buffer
}

func (k *keystrokes) Write(b []byte) (int, error) {
	now := k.p.Clock.Now()
	k.s.mu.Lock()
	k.s.last = now
	err := k.s.rec.Input(now, string(b))
	k.s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	for _, c := range b {
		switch c {
		case '\r', '\n':
			k.flush()
		case 0x7f, 0x08: // erase, as most terminals send it
			if k.line.Len() > 0 {
				k.line.Truncate(k.line.Len() - 1)
			}
		default:
			if k.line.Len() < terminal.HardMaxLineBytes {
				k.line.WriteByte(c)
			}
		}
	}
	return len(b), nil
}

func (k *keystrokes) flush() {
	line := k.line.String()
	k.line.Reset()
	if line == "" {
		return
	}
	k.s.mu.Lock()
	k.s.seq++
	seq := k.s.seq
	k.s.mu.Unlock()
	cmd := terminal.Command{Session: k.s.ID, Seq: seq, At: k.p.Clock.Now(), Line: line, Allowed: true,
		Rule: "policy/" + k.s.policy.Name + "/shell", ExitCode: -1}
	_ = k.p.DB.InTx(context.WithoutCancel(k.ctx), func(tx Tx) error {
		if err := tx.AddTerminalCommand(k.ctx, cmd); err != nil {
			return err
		}
		_, err := audit.Append(k.ctx, tx, k.p.Clock.Now(), k.s.caller.Actor, audit.Event{Tenant: k.s.Target.Tenant, Project: k.s.Target.Project,
			Action: "terminal.command", Target: fmt.Sprintf("terminal-sessions/%s/commands/%d", k.s.ID, seq),
			Summary: fmt.Sprintf("shell line %q (reconstructed from keystrokes, best effort) in %s/%s/%s", line, k.s.Target.Namespace, k.s.Target.Pod, k.s.Target.Container)})
		return err
	})
}
