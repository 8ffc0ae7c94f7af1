package platform_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/logtest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/terminal"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

var admin = platform.Caller{Actor: audit.Actor{User: "alice", Roles: []string{"platform-admin"}},
	Bindings: []authz.Binding{{Role: authz.PlatformAdmin, Scope: authz.Platform}}}

var viewer = platform.Caller{Actor: audit.Actor{User: "vera", Roles: []string{"viewer@bank/pay"}},
	Bindings: []authz.Binding{{Role: authz.Viewer, Scope: authz.ProjectScope("bank", "pay")}}}

// fixture is a platform over SQLite whose environment bank/pay/prod is a
// namespace of the real local cluster holding a running pod of app web,
// with a log file in a directory kwok's ClusterExec runs commands on.
type fixture struct {
	p       *platform.Platform
	st      *store.Store
	target  terminal.Target
	logDir  string
	log     string
	cluster *clustertest.Cluster
	ns      string
	clock   *clock.Fake
}

func newFixture(t *testing.T, recordings string) *fixture {
	t.Helper()
	ctx := t.Context()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	reg := c.Registry(t, "local")
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	p, err := platform.New(st, platform.Options{Sealer: sealer, Clock: clk,
		Terminal: platform.TerminalOptions{Cluster: kube.Terminal{Registry: reg}, RecordingDir: recordings}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{p: p, st: st, cluster: c, ns: ns, clock: clk,
		target: terminal.Target{Tenant: "bank", Project: "pay", Application: "web", Environment: "prod"}}
	f.admin(t, func(tx platform.Tx) error {
		a := admin.Actor
		if _, err := p.Tenancy.CreateTenant(ctx, tx, a, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateProject(ctx, tx, a, tenancy.Project{Tenant: "bank", Name: "pay"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.RegisterCluster(ctx, tx, a, tenancy.Cluster{Name: "local"}, []byte("apiVersion: v1\nkind: Config\n")); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateEnvironment(ctx, tx, a, tenancy.Environment{Tenant: "bank", Project: "pay", Name: "prod", Cluster: "local", Namespace: ns}); err != nil {
			return err
		}
		_, err := p.Apps.CreateApplication(ctx, tx, a, apps.Application{Tenant: "bank", Project: "pay", Name: "web"})
		return err
	})
	f.pod(t, "web-1", "web")
	f.logDir, err = os.MkdirTemp(c.ExecDir(), "term-")
	if err != nil {
		t.Fatal(err)
	}
	f.log = filepath.Join(f.logDir, "app.log")
	var b strings.Builder
	for i := range 300 {
		level := "INFO"
		if i%7 == 0 {
			level = "ERROR"
		}
		b.WriteString(level + " request " + strings.Repeat("x", i%5) + "\n")
	}
	if err := os.WriteFile(f.log, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	f.admin(t, func(tx platform.Tx) error {
		_, _, err := p.ApplyTerminalPolicy(ctx, tx, admin, terminal.Policy{Name: "log-only", Role: tenancy.Viewer, Mode: terminal.Restricted,
			Commands: []string{"tail", "head", "grep", "wc"}, Paths: []string{f.logDir + "/**"}})
		return err
	})
	return f
}

func (f *fixture) admin(t *testing.T, fn func(platform.Tx) error) {
	t.Helper()
	if err := f.st.InTx(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// pod creates a pod of app (by Berth's label) and waits until it runs.
func (f *fixture) pod(t *testing.T, name, app string) {
	t.Helper()
	ctx := t.Context()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: f.ns, Labels: map[string]string{kube.LabelApp: app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/web:1"}}}}
	if _, err := f.cluster.Client.CoreV1().Pods(f.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := f.cluster.Client.CoreV1().Pods(f.ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		t.Fatalf("pod %s never ran: %v", name, err)
	}
}

// recording reads the session's recording back as an admin: its bytes and
// its events.
func (f *fixture) recording(t *testing.T, id string) ([]byte, []terminal.Event) {
	t.Helper()
	var rec []byte
	err := f.st.View(t.Context(), func(tx platform.Tx) (err error) {
		_, rec, err = f.p.ReplayTerminal(t.Context(), tx, admin, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, evs, err := terminal.ReadRecording(bytes.NewReader(rec))
	if err != nil {
		t.Fatal(err)
	}
	return rec, evs
}

func (f *fixture) audit(t *testing.T, action string) []audit.Record {
	t.Helper()
	var recs []audit.Record
	err := f.st.View(t.Context(), func(tx platform.Tx) (err error) {
		recs, err = tx.ListAudit(t.Context(), audit.Query{Filter: audit.Filter{Action: action}, Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// errorLines is what `tail -n 100 log | grep ERROR` shows, computed from
// the file without the code under test.
func errorLines(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	var out strings.Builder
	for _, l := range lines[len(lines)-100:] {
		if strings.Contains(l, "ERROR") {
			out.WriteString(strings.TrimSuffix(l, "\n") + "\n")
		}
	}
	return out.String()
}

// TestLogOnlySessionRunsOnlyItsAllowList is the guarded terminal's proof:
// a log-only user runs `tail -n 100 app.log | grep ERROR` through the real
// API server into kwok's ClusterExec, cannot run anything else, every
// attempt is audited, and the recording replays byte-exact.
func TestLogOnlySessionRunsOnlyItsAllowList(t *testing.T) {
	t.Parallel()
	f := newFixture(t, t.TempDir())
	ctx := t.Context()
	s, err := f.p.OpenTerminal(ctx, viewer, f.target, terminal.Restricted)
	if err != nil {
		t.Fatal(err)
	}
	if s.Target.Pod != "web-1" || s.Target.Container != "app" || s.Policy().Name != "log-only" {
		t.Fatalf("session into %+v under %s, want pod web-1, container app, policy log-only", s.Target, s.Policy().Name)
	}
	var screen bytes.Buffer
	allowed := "tail -n 100 " + f.log + " | grep ERROR"
	cmd, err := f.p.TerminalLine(ctx, s, allowed, &screen)
	if err != nil {
		t.Fatal(err)
	}
	want := errorLines(t, f.log)
	if screen.String() != want || cmd.ExitCode != 0 || !cmd.Allowed {
		t.Fatalf("%s showed %q (exit %d, allowed %v), want %q, exit 0", allowed, screen.String(), cmd.ExitCode, cmd.Allowed, want)
	}
	refused := []string{
		"ls;rm -rf " + f.logDir,
		"tail -n 1 " + f.log + " && touch " + f.logDir + "/x",
		"cat " + f.log,
		"tail -n 1 " + f.logDir + "/../../etc/passwd",
		"tail -n 1 /etc/passwd",
		"sh -c id",
		"tail -n 1 $(echo /etc/passwd)",
		"grep -r root " + f.logDir,
		"tail -n 1 " + f.log + " > " + f.logDir + "/out",
	}
	for _, line := range refused {
		before := screen.Len()
		cmd, err := f.p.TerminalLine(ctx, s, line, &screen)
		if err != nil {
			t.Fatal(err)
		}
		if cmd.Allowed || !strings.HasPrefix(screen.String()[before:], "berth: refused by your terminal policy (") {
			t.Errorf("%q: allowed %v, showed %q; want refused", line, cmd.Allowed, screen.String()[before:])
		}
	}
	if _, err := os.Stat(filepath.Join(f.logDir, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused line touched a file: %v", err)
	}
	if err := f.p.EndTerminal(ctx, s, "closed"); err != nil {
		t.Fatal(err)
	}

	var got terminal.Session
	var cmds []terminal.Command
	err = f.st.View(ctx, func(tx platform.Tx) (err error) {
		got, cmds, err = f.p.TerminalSession(ctx, tx, admin, s.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Commands != 1+len(refused) || got.Refused != len(refused) || got.EndReason != "closed" || len(got.RecordingSHA256) != 64 {
		t.Errorf("ended session = %+v, want %d commands, %d refused, closed, a SHA-256", got, 1+len(refused), len(refused))
	}
	var lines []string
	for _, c := range cmds {
		lines = append(lines, c.Line)
	}
	if diff := cmp.Diff(append([]string{allowed}, refused...), lines); diff != "" {
		t.Errorf("recorded lines (-want +got):\n%s", diff)
	}
	if want := [][]string{{"tail", "-n", "100", f.log}, {"grep", "ERROR"}}; !cmp.Equal(cmds[0].Argv, want) || cmds[0].Rule != "policy/log-only/tail|grep" {
		t.Errorf("first command argv %q rule %s, want %q by policy/log-only/tail|grep", cmds[0].Argv, cmds[0].Rule, want)
	}
	if n := len(f.audit(t, "terminal.command")); n != 1+len(refused) {
		t.Errorf("%d terminal.command audit records, want one per line (%d)", n, 1+len(refused))
	}
	exits := f.audit(t, "terminal.command-exit")
	if len(exits) != 1 || !strings.HasPrefix(exits[0].Summary, "exit 0 after") {
		t.Errorf("command-exit records %+v, want one for the allowed line with exit 0", exits)
	}
	ends := f.audit(t, "terminal.session-end")
	if len(ends) != 1 || !strings.Contains(ends[0].Summary, got.RecordingSHA256) {
		t.Errorf("session-end records %+v, want one naming the recording's SHA-256", ends)
	}

	rec, evs := f.recording(t, s.ID)
	if replay := terminal.Replay(evs); replay != screen.String() {
		t.Errorf("the recording replays %q, the screen showed %q", replay, screen.String())
	}
	if diff := cmp.Diff(lines, terminal.Lines(evs)); diff != "" {
		t.Errorf("recorded input (-want +got):\n%s", diff)
	}
	// A recording changed after the session is refused on replay.
	path := filepath.Join(f.p.Terminal.RecordingDir, got.Recording)
	if err := os.WriteFile(path, append(rec, []byte(`[9.9,"o","forged"]`+"\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	err = f.st.View(ctx, func(tx platform.Tx) error {
		_, _, err := f.p.ReplayTerminal(ctx, tx, admin, s.ID)
		return err
	})
	if !errors.Is(err, platform.ErrRecordingTampered) {
		t.Errorf("replay of a changed recording = %v, want ErrRecordingTampered", err)
	}
}

// TestTerminalRefusesWhoMayNot: no session without terminal:open at the
// project, without a policy of the wanted mode, or without a running pod
// of the application; the refusals are audited.
func TestTerminalRefusesWhoMayNot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, t.TempDir())
	ctx := t.Context()
	other := platform.Caller{Actor: audit.Actor{User: "olga"}, Bindings: []authz.Binding{{Role: authz.Viewer, Scope: authz.ProjectScope("bank", "loans")}}}
	auditor := platform.Caller{Actor: audit.Actor{User: "aud"}, Bindings: []authz.Binding{{Role: authz.Auditor, Scope: authz.Platform}}}
	tests := []struct {
		name   string
		caller platform.Caller
		target terminal.Target
		mode   terminal.Mode
		want   error
	}{
		{"a viewer of another project", other, f.target, terminal.Restricted, resource.ErrForbidden},
		{"an auditor, who reads sessions but does not open them", auditor, f.target, terminal.Restricted, resource.ErrForbidden},
		{"a log-only viewer asking for a shell", viewer, f.target, terminal.Shell, resource.ErrForbidden},
	}
	for _, tt := range tests {
		if _, err := f.p.OpenTerminal(ctx, tt.caller, tt.target, tt.mode); !errors.Is(err, tt.want) {
			t.Errorf("%s: OpenTerminal = %v, want %v", tt.name, err, tt.want)
		}
	}
	f.pod(t, "db-1", "db")
	notWeb := f.target
	notWeb.Pod = "db-1"
	var ve *resource.ValidationError
	if _, err := f.p.OpenTerminal(ctx, viewer, notWeb, terminal.Restricted); !errors.As(err, &ve) || ve.Fields[0].Path != "pod" {
		t.Errorf("OpenTerminal into another application's pod = %v, want a field error at pod", err)
	}
	denied := f.audit(t, "terminal.session-start")
	n := 0
	for _, r := range denied {
		if r.Outcome != audit.Success {
			n++
		}
	}
	if n != len(tests)+1 {
		t.Errorf("%d refused session starts audited, want %d", n, len(tests)+1)
	}
}

// TestRecordingFailureKeepsTheSessionFromStarting: fail closed.
func TestRecordingFailureKeepsTheSessionFromStarting(t *testing.T) {
	t.Parallel()
	f := newFixture(t, filepath.Join(t.TempDir(), "missing"))
	_, err := f.p.OpenTerminal(t.Context(), viewer, f.target, terminal.Restricted)
	if err == nil || !strings.Contains(err.Error(), "recording cannot be written") {
		t.Fatalf("OpenTerminal without a writable recording = %v, want refused", err)
	}
	var ss []terminal.Session
	err = f.st.View(t.Context(), func(tx platform.Tx) (err error) {
		ss, err = f.p.TerminalSessions(t.Context(), tx, admin, "", "", 10)
		return err
	})
	if err != nil || len(ss) != 0 {
		t.Errorf("sessions = %v, %v; want none", ss, err)
	}
	if recs := f.audit(t, "terminal.session-start"); len(recs) != 1 || recs[0].Outcome != audit.Failure {
		t.Errorf("session-start records %+v, want one failure", recs)
	}
}

// TestIdleSessionEnds: a line after the policy's idle timeout ends the
// session instead of running.
func TestIdleSessionEnds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, t.TempDir())
	ctx := t.Context()
	f.admin(t, func(tx platform.Tx) error {
		_, _, err := f.p.ApplyTerminalPolicy(ctx, tx, admin, terminal.Policy{Name: "log-only", Role: tenancy.Viewer, Mode: terminal.Restricted,
			Commands: []string{"tail"}, Paths: []string{f.logDir + "/**"}, IdleTimeout: resource.Duration{Duration: time.Minute}})
		return err
	})
	s, err := f.p.OpenTerminal(ctx, viewer, f.target, terminal.Restricted)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.TerminalLine(ctx, s, "tail -n 1 "+f.log, &bytes.Buffer{}); err != nil {
		t.Fatalf("a line within the idle timeout: %v", err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.p.TerminalLine(ctx, s, "tail -n 1 "+f.log, &bytes.Buffer{}); !errors.Is(err, platform.ErrSessionEnded) {
		t.Fatalf("a line after the idle timeout = %v, want ErrSessionEnded", err)
	}
	if s.EndReason != "idle" || s.Commands != 1 {
		t.Errorf("session ended for %q after %d commands, want idle after 1", s.EndReason, s.Commands)
	}
}

// TestShellSessionIsRecordedAndAuditedBestEffort: an operator whose policy
// gives a shell gets sh in a terminal; what it showed is recorded, and each
// line typed is audited as reconstructed from the keystrokes.
func TestShellSessionIsRecordedAndAuditedBestEffort(t *testing.T) {
	t.Parallel()
	f := newFixture(t, t.TempDir())
	ctx := t.Context()
	f.admin(t, func(tx platform.Tx) error {
		_, _, err := f.p.ApplyTerminalPolicy(ctx, tx, admin, terminal.Policy{Name: "ops-shell", Role: tenancy.Operator, Mode: terminal.Shell})
		return err
	})
	operator := platform.Caller{Actor: audit.Actor{User: "otto"}, Bindings: []authz.Binding{{Role: authz.Operator, Scope: authz.ProjectScope("bank", "pay")}}}
	if _, err := f.p.OpenTerminal(ctx, operator, f.target, terminal.Restricted); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("a restricted session under a shell-only policy = %v, want ErrForbidden", err)
	}
	s, err := f.p.OpenTerminal(ctx, operator, f.target, terminal.Shell)
	if err != nil {
		t.Fatal(err)
	}
	// Type as a person does: the next line only once the shell answered
	// the first. (Typing ahead and closing the input at once races the
	// shell: kwok's exec ends the process when its input closes, before a
	// slow shell has run what was typed.)
	var screen logtest.Buffer
	keys, typing := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- f.p.TerminalShell(ctx, s, keys, &screen) }()
	if _, err := typing.Write([]byte("echo shell-says-$((6*7))\r")); err != nil {
		t.Fatal(err)
	}
	answered := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return strings.Contains(screen.String(), "shell-says-42"), nil
	})
	if _, err := typing.Write([]byte("exit\r")); err != nil {
		t.Fatal(err)
	}
	// The input stays open until the shell has exited, as a person's
	// terminal does: closing it sooner sends a close on the exec stream
	// the server may already have shut (a broken pipe, not the shell's).
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the shell did not end within a minute of exit")
	}
	_ = typing.Close()
	if answered != nil {
		t.Errorf("the shell showed %q, want the echo's output", screen.String())
	}
	if err := f.p.EndTerminal(ctx, s, "closed"); err != nil {
		t.Fatal(err)
	}
	var cmds []terminal.Command
	err = f.st.View(ctx, func(tx platform.Tx) (err error) {
		_, cmds, err = f.p.TerminalSession(ctx, tx, admin, s.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range cmds {
		lines = append(lines, c.Line)
	}
	if want := []string{"echo shell-says-$((6*7))", "exit"}; !cmp.Equal(lines, want) {
		t.Errorf("audited lines %q, want %q", lines, want)
	}
	if _, evs := f.recording(t, s.ID); terminal.Replay(evs) != screen.String() {
		t.Errorf("the recording replays %q, the screen showed %q", terminal.Replay(evs), screen.String())
	}
}
