package platform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/terminal"
)

// # The guarded terminal
//
// A session is opened for one caller into one container of one of an
// application's pods (OpenTerminal), under the TerminalPolicy of the
// caller's role in the pod's environment. Its recording (asciicast v2) is
// created before anything else: if it cannot be written the session does
// not start (fail closed). In a restricted session every submitted line is
// decided by the policy (TerminalLine); its command record and audit
// record are written before it runs, and its exit code and duration after.
// Accepted lines run as argv through exec, a pipeline as one exec per
// command with Berth carrying the bytes between them, never through a
// shell. EndTerminal closes the recording and writes its SHA-256 into the
// session and the audit trail; ReplayTerminal checks it before returning
// the recording.
//
// Kubernetes RBAC: every exec runs with Berth's own credentials for the
// cluster, so "may this caller create pods/exec" is Berth's authorisation
// (terminal:open at the application's project, and a TerminalPolicy for
// one of the caller's roles there), not a SubjectAccessReview of the
// caller's Kubernetes identity, which Berth users do not have.

// TerminalOptions configure terminal sessions.
type TerminalOptions struct {
	// Cluster lists pods and runs exec (kube.Terminal).
	Cluster terminal.Cluster
	// RecordingDir holds the recordings, one file per session.
	RecordingDir string
}

// ErrSessionEnded is returned for a line submitted to a session that has
// ended (closed, idle or past its maximum length).
var ErrSessionEnded = errors.New("terminal session has ended")

// MaxTerminalPolicies bounds the policies a session open reads.
const MaxTerminalPolicies = 1000

// TerminalSession is an open session: the record, its policy and its
// recording. Its methods are safe for concurrent use; lines are run one at
// a time.
type TerminalSession struct {
	terminal.Session
	policy  terminal.Policy
	limits  terminal.Limits
	caller  Caller
	cluster string

	// Lang is the language of Berth's own messages in the terminal; the
	// entry point sets it from the request before the first line.
	Lang i18n.Lang

	run   sync.Mutex // one line at a time
	mu    sync.Mutex // guards the fields below and writes to rec
	file  *os.File
	rec   *terminal.Recorder
	seq   int64
	last  time.Time
	ended bool
}

// Policy returns the session's policy.
func (s *TerminalSession) Policy() terminal.Policy { return s.policy }

// Deadline is when the session ends unless a line comes first: the idle
// timeout after the last line, or the maximum length, whichever is sooner.
func (s *TerminalSession) Deadline() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	idle := s.last.Add(s.limits.IdleTimeout)
	max := s.StartedAt.Add(s.limits.MaxDuration)
	if idle.Before(max) {
		return idle
	}
	return max
}

func terminalScope(t terminal.Target) authz.Scope { return scopeOf(t.Tenant, t.Project) }

// OpenTerminal opens a session for c into t's application in t's
// environment: into t.Pod (one of the application's pods; the first
// running one when empty) and t.Container (the pod's first when empty).
// mode Shell needs a shell policy; Restricted a restricted one.
func (p *Platform) OpenTerminal(ctx context.Context, c Caller, t terminal.Target, mode terminal.Mode) (*TerminalSession, error) {
	s := &TerminalSession{caller: c}
	ev := audit.Event{Tenant: t.Tenant, Project: t.Project, Action: "terminal.session-start",
		Target: terminalTarget(t), Summary: fmt.Sprintf("open a %s terminal session", mode)}
	err := p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.TerminalOpen, terminalScope(t)); err != nil {
			return err
		}
		if p.Terminal.Cluster == nil || p.Terminal.RecordingDir == "" {
			return resource.Refused("terminal sessions are not configured on this server")
		}
		env, err := p.terminalEnvironment(ctx, tx, t)
		if err != nil {
			return err
		}
		pol, err := p.terminalPolicy(ctx, tx, c, t, mode)
		if err != nil {
			return err
		}
		t.Cluster, t.Namespace = env.Cluster, env.Namespace
		if t, err = p.terminalPod(ctx, t); err != nil {
			return err
		}
		now := p.Clock.Now()
		s.Session = terminal.Session{ID: sessionID(now), User: c.User, Target: t, Policy: pol.Name, Mode: pol.Mode,
			StartedAt: now, ResourceVersion: 1}
		s.policy, s.limits, s.cluster, s.last = pol, pol.Limits(), env.Cluster, now
		if err := p.startRecording(s); err != nil {
			return err
		}
		if err := tx.CreateTerminalSession(ctx, s.Session); err != nil {
			s.file.Close()
			return fmt.Errorf("record terminal session: %w", err)
		}
		_, err = audit.Append(ctx, tx, now, c.Actor, audit.Event{Tenant: t.Tenant, Project: t.Project,
			Action: "terminal.session-start", Target: "terminal-sessions/" + s.ID,
			Summary: fmt.Sprintf("%s session into %s under policy %s, recording %s", pol.Mode, terminalTarget(t), pol.Name, s.Recording)})
		if err != nil {
			s.file.Close()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func terminalTarget(t terminal.Target) string {
	s := fmt.Sprintf("tenants/%s/projects/%s/applications/%s/environments/%s", t.Tenant, t.Project, t.Application, t.Environment)
	if t.Pod != "" {
		s += "/pods/" + t.Pod
	}
	if t.Container != "" {
		s += "/containers/" + t.Container
	}
	return s
}

func (p *Platform) terminalEnvironment(ctx context.Context, tx Tx, t terminal.Target) (tenancy.Environment, error) {
	var errs resource.Errors
	errs.CheckName("tenant", t.Tenant)
	errs.CheckName("project", t.Project)
	errs.CheckName("application", t.Application)
	errs.CheckName("environment", t.Environment)
	if t.Pod != "" {
		errs.CheckLen("pod", t.Pod, 253)
	}
	if t.Container != "" {
		errs.CheckName("container", t.Container)
	}
	if err := errs.Err(); err != nil {
		return tenancy.Environment{}, err
	}
	if _, err := tx.GetApplication(ctx, t.Tenant, t.Project, t.Application); err != nil {
		return tenancy.Environment{}, fmt.Errorf("application %s/%s/%s: %w", t.Tenant, t.Project, t.Application, err)
	}
	env, err := tx.GetEnvironment(ctx, t.Tenant, t.Project, t.Environment)
	if err != nil {
		return tenancy.Environment{}, fmt.Errorf("environment %s/%s/%s: %w", t.Tenant, t.Project, t.Environment, err)
	}
	return env, nil
}

// terminalPolicy picks the policy of c's roles at t's project for t's
// environment: for each role c holds there, most powerful first, the
// policy naming the role and the environment, else the role's policy for
// every environment; the first of the wanted mode wins.
func (p *Platform) terminalPolicy(ctx context.Context, tx Tx, c Caller, t terminal.Target, mode terminal.Mode) (terminal.Policy, error) {
	pols, err := tx.ListTerminalPolicies(ctx, "", MaxTerminalPolicies)
	if err != nil {
		return terminal.Policy{}, fmt.Errorf("terminal policies: %w", err)
	}
	scope := terminalScope(t)
	for _, role := range authz.Roles() {
		held := slices.ContainsFunc(c.Bindings, func(b authz.Binding) bool { return b.Role == role && b.Scope.Contains(scope) })
		if !held {
			continue
		}
		pol, ok := policyFor(pols, tenancy.Role(role), t.Environment)
		if ok && pol.Mode == mode {
			return pol, nil
		}
	}
	return terminal.Policy{}, fmt.Errorf("no %s terminal policy for your roles in environment %s: %w", mode, t.Environment, resource.ErrForbidden)
}

func policyFor(pols []terminal.Policy, role tenancy.Role, env string) (terminal.Policy, bool) {
	var all *terminal.Policy
	for i, pol := range pols {
		if pol.Role != role {
			continue
		}
		if pol.Environment == env {
			return pol, true
		}
		if pol.Environment == "" && all == nil {
			all = &pols[i]
		}
	}
	if all != nil {
		return *all, true
	}
	return terminal.Policy{}, false
}

// terminalPod resolves t's pod and container among the application's pods.
func (p *Platform) terminalPod(ctx context.Context, t terminal.Target) (terminal.Target, error) {
	pods, err := p.Terminal.Cluster.Pods(ctx, t.Cluster, t.Namespace, t.Application)
	if err != nil {
		return t, err
	}
	i := slices.IndexFunc(pods, func(pod terminal.Pod) bool {
		return pod.Running && (t.Pod == "" || pod.Name == t.Pod)
	})
	if i < 0 {
		var errs resource.Errors
		if t.Pod != "" {
			errs.Add("pod", "%s is not a running pod of %s in %s", t.Pod, t.Application, t.Environment)
		} else {
			errs.Add("pod", "%s has no running pod in %s", t.Application, t.Environment)
		}
		return t, errs.Err()
	}
	pod := pods[i]
	t.Pod = pod.Name
	switch {
	case t.Container == "" && len(pod.Containers) > 0:
		t.Container = pod.Containers[0]
	case !slices.Contains(pod.Containers, t.Container):
		var errs resource.Errors
		errs.Add("container", "pod %s has no container %q; it has %s", pod.Name, t.Container, strings.Join(pod.Containers, ", "))
		return t, errs.Err()
	}
	return t, nil
}

func sessionID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016x-%s", now.UnixNano(), hex.EncodeToString(b[:]))
}

// startRecording creates the session's recording and writes its header;
// an error here keeps the session from starting.
func (p *Platform) startRecording(s *TerminalSession) error {
	s.Recording = s.ID + ".cast"
	f, err := os.OpenFile(filepath.Join(p.Terminal.RecordingDir, s.Recording), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("terminal recording cannot be written, the session does not start: %w", err)
	}
	title := fmt.Sprintf("%s@%s/%s", s.User, s.Target.Pod, s.Target.Container)
	rec, err := terminal.NewRecorder(f, s.StartedAt, title, 120, 40)
	if err != nil {
		f.Close()
		return fmt.Errorf("terminal recording cannot be written, the session does not start: %w", err)
	}
	s.file, s.rec = f, rec
	return nil
}

// output is the session's view of the terminal: what is written reaches
// w and the recording.
type output struct {
	s   *TerminalSession
	now func() time.Time
	w   io.Writer
}

func (o output) Write(b []byte) (int, error) {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	if err := o.s.rec.Output(o.now(), string(b)); err != nil {
		return 0, err
	}
	return o.w.Write(b)
}

// TerminalLine decides line in restricted session s, records and audits
// it, and runs it when the policy allows, writing the output to w. The
// returned command says what happened; refusals are not errors. An error
// means the session could not go on (ended, recording failed).
func (p *Platform) TerminalLine(ctx context.Context, s *TerminalSession, line string, w io.Writer) (terminal.Command, error) {
	s.run.Lock()
	defer s.run.Unlock()
	if err := p.checkAlive(ctx, s); err != nil {
		return terminal.Command{}, err
	}
	if s.Mode != terminal.Restricted {
		return terminal.Command{}, resource.Refused("session %s is a shell session: its input goes to the shell", s.ID)
	}
	now := p.Clock.Now()
	out := output{s: s, now: p.Clock.Now, w: w}
	s.mu.Lock()
	s.seq++
	s.last = now
	err := s.rec.Input(now, line+"\n")
	s.mu.Unlock()
	if err != nil {
		return terminal.Command{}, p.failRecording(ctx, s, err)
	}
	d := s.policy.Check(line)
	cmd := terminal.Command{Session: s.ID, Seq: s.seq, At: now, Line: line, Argv: d.Argv, Allowed: d.Allowed, Rule: d.Rule, ExitCode: -1}
	if d.Refusal != nil {
		cmd.Reason, cmd.Detail = d.Refusal.Reason, d.Refusal.Detail
	}
	if err := p.recordCommand(ctx, s, cmd, nil); err != nil {
		return cmd, err
	}
	if !d.Allowed {
		_, err := fmt.Fprintf(out, "berth: %s (%s): %s\r\n", i18n.Message(i18n.TerminalRefused, s.Lang), d.Refusal.Reason, d.Refusal.Detail)
		if err != nil {
			return cmd, p.failRecording(ctx, s, err)
		}
		return cmd, nil
	}
	code, truncated, runErr := p.runPipeline(ctx, s, d.Argv, out)
	if s.rec.Err() != nil {
		return cmd, p.failRecording(ctx, s, s.rec.Err())
	}
	cmd.ExitCode, cmd.OutputTruncated = code, truncated
	cmd.DurationMS = p.Clock.Now().Sub(now).Milliseconds()
	if runErr != nil {
		cmd.Detail = runErr.Error()
		if _, err := fmt.Fprintf(out, "berth: %s: %v\r\n", i18n.Message(i18n.TerminalFailed, s.Lang), runErr); err != nil {
			return cmd, p.failRecording(ctx, s, err)
		}
	}
	return cmd, p.recordCommand(ctx, s, cmd, &cmd)
}

// recordCommand writes cmd and its audit record: the decision before the
// command runs (done nil), the result after (done set).
func (p *Platform) recordCommand(ctx context.Context, s *TerminalSession, cmd terminal.Command, done *terminal.Command) error {
	ev := audit.Event{Tenant: s.Target.Tenant, Project: s.Target.Project, Action: "terminal.command",
		Target: fmt.Sprintf("terminal-sessions/%s/commands/%d", s.ID, cmd.Seq), Outcome: audit.Success}
	switch {
	case done != nil:
		ev.Action = "terminal.command-exit"
		ev.Summary = fmt.Sprintf("exit %d after %d ms in %s/%s/%s", cmd.ExitCode, cmd.DurationMS, s.Target.Namespace, s.Target.Pod, s.Target.Container)
		if cmd.OutputTruncated {
			ev.Summary += " (output cut at the policy's limit)"
		}
		if cmd.Detail != "" {
			ev.Outcome, ev.Summary = audit.Failure, ev.Summary+": "+cmd.Detail
		}
	case cmd.Allowed:
		ev.Summary = fmt.Sprintf("line %q allowed by %s as argv %q in %s/%s/%s", cmd.Line, cmd.Rule, cmd.Argv, s.Target.Namespace, s.Target.Pod, s.Target.Container)
	default:
		ev.Outcome = audit.Denied
		ev.Summary = fmt.Sprintf("line %q refused by %s: %s", cmd.Line, cmd.Rule, cmd.Detail)
	}
	return p.DB.InTx(context.WithoutCancel(ctx), func(tx Tx) error {
		var err error
		if done == nil {
			err = tx.AddTerminalCommand(ctx, cmd)
		} else {
			err = tx.UpdateTerminalCommand(ctx, cmd)
		}
		if err != nil {
			return fmt.Errorf("record terminal command: %w", err)
		}
		_, err = audit.Append(ctx, tx, p.Clock.Now(), s.caller.Actor, ev)
		return err
	})
}

// checkAlive ends s when it is past its idle timeout or maximum length.
func (p *Platform) checkAlive(ctx context.Context, s *TerminalSession) error {
	s.mu.Lock()
	ended, last := s.ended, s.last
	s.mu.Unlock()
	if ended {
		return ErrSessionEnded
	}
	now := p.Clock.Now()
	reason := ""
	switch {
	case now.Sub(s.StartedAt) >= s.limits.MaxDuration:
		reason = "max-duration"
	case now.Sub(last) >= s.limits.IdleTimeout:
		reason = "idle"
	}
	if reason == "" {
		return nil
	}
	if err := p.EndTerminal(ctx, s, reason); err != nil {
		return errors.Join(ErrSessionEnded, err)
	}
	return ErrSessionEnded
}

func (p *Platform) failRecording(ctx context.Context, s *TerminalSession, cause error) error {
	err := fmt.Errorf("terminal recording failed, the session ends: %w", cause)
	return errors.Join(err, p.EndTerminal(ctx, s, "recording-failed"))
}

// EndTerminal ends s for reason ("closed", "idle", "max-duration",
// "recording-failed", "error"): it closes the recording, and writes its
// SHA-256 into the session record and the audit trail. Ending an ended
// session does nothing.
func (p *Platform) EndTerminal(ctx context.Context, s *TerminalSession, reason string) error {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return nil
	}
	s.ended = true
	closeErr := s.file.Close()
	s.mu.Unlock()
	sum, hashErr := fileSHA256(filepath.Join(p.Terminal.RecordingDir, s.Recording))
	ctx = context.WithoutCancel(ctx)
	err := p.DB.InTx(ctx, func(tx Tx) error {
		cur, err := tx.GetTerminalSession(ctx, s.ID)
		if err != nil {
			return fmt.Errorf("terminal session %s: %w", s.ID, err)
		}
		done := cur
		done.EndedAt, done.EndReason, done.RecordingSHA256 = p.Clock.Now(), reason, sum
		done.ResourceVersion++
		done.Commands, done.Refused, err = countCommands(ctx, tx, s.ID)
		if err != nil {
			return err
		}
		if err := tx.UpdateTerminalSession(ctx, done, cur.ResourceVersion); err != nil {
			return fmt.Errorf("end terminal session %s: %w", s.ID, err)
		}
		s.Session = done
		summary := fmt.Sprintf("session ended (%s) after %d lines, %d refused; recording %s sha256 %s", reason, done.Commands, done.Refused, s.Recording, sum)
		if hashErr != nil || closeErr != nil {
			summary += fmt.Sprintf("; recording error: %v", errors.Join(closeErr, hashErr))
		}
		_, err = audit.Append(ctx, tx, p.Clock.Now(), s.caller.Actor, audit.Event{Tenant: s.Target.Tenant, Project: s.Target.Project,
			Action: "terminal.session-end", Target: "terminal-sessions/" + s.ID, Summary: summary})
		return err
	})
	return errors.Join(err, closeErr, hashErr)
}

func countCommands(ctx context.Context, tx Tx, id string) (int, int, error) {
	cmds, err := tx.TerminalCommands(ctx, id)
	if err != nil {
		return 0, 0, fmt.Errorf("commands of terminal session %s: %w", id, err)
	}
	refused := 0
	for _, c := range cmds {
		if !c.Allowed {
			refused++
		}
	}
	return len(cmds), refused, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read recording: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read recording: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
