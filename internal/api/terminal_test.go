package api

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store/storetest"
	"berth.dev/berth/internal/terminal"
)

// TestTerminalEntryPoints drives the guarded terminal through its HTTP and
// WebSocket entry points as a log-only viewer, against the real local
// cluster: POST .../exec runs an allowed line and refuses others, the
// WebSocket session runs lines, refuses a foreign Origin before opening
// anything, and its recording replays what the socket showed.
func TestTerminalEntryPoints(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ctx := t.Context()
	ns := c.Namespace(t)
	reg := c.Registry(t, "c1")
	recordings := t.TempDir()
	h := newHarness(t, storetest.SQLite(t), func(o *platform.Options) {
		o.Terminal = platform.TerminalOptions{Cluster: kube.Terminal{Registry: reg}, RecordingDir: recordings}
	})
	logDir, err := os.MkdirTemp(c.ExecDir(), "api-")
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(logDir, "app.log")
	if err := os.WriteFile(logFile, []byte("INFO a\nERROR b\nINFO c\nERROR d\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := h.token("admin", adminPassword)
	h.webOnCluster(c, admin, ns)
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "vera", "password": "password-of-vera"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/pay/members", map[string]string{"user": "vera", "role": "viewer"})
	h.must(http.StatusOK, admin, "POST", "/apply", "apiVersion: berth.dev/v1\nkind: TerminalPolicy\nmetadata: {name: log-only}\n"+
		"spec: {role: viewer, mode: restricted, commands: [tail, grep], paths: ['"+logDir+"/**']}\n")
	runWebPods(t, c, ns, "")
	vera := h.token("vera", "password-of-vera")
	base := "/tenants/bank/projects/pay/environments/prod/deployments/web"

	var res apitypes.TerminalExecResult
	h.must(http.StatusOK, vera, "POST", base+"/exec", apitypes.TerminalExecRequest{Line: "tail -n 3 " + logFile + " | grep ERROR"}).decode(t, &res)
	if res.Output != "ERROR b\nERROR d\n" || !res.Command.Allowed || res.Command.ExitCode != 0 {
		t.Errorf("exec of an allowed line = %+v, want the two ERROR lines, exit 0", res)
	}
	h.must(http.StatusOK, vera, "POST", base+"/exec", apitypes.TerminalExecRequest{Line: "tail -n 3 /etc/passwd"}).decode(t, &res)
	if res.Command.Allowed || res.Command.Reason != terminal.ReasonPath || strings.Contains(res.Output, "root") {
		t.Errorf("exec of /etc/passwd = %+v, want refused for its path", res)
	}
	h.must(http.StatusForbidden, vera, "GET", "/terminal-sessions/"+res.Session, nil)

	url := strings.Replace(h.url, "http", "ws", 1) + Prefix + base + "/terminal"
	auth := http.Header{"Authorization": {"Bearer " + vera}, "Accept-Language": {"zh-CN"}}
	if _, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + vera}, "Origin": {"https://evil.example"}}}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a WebSocket from a foreign origin: %v, want 403", err)
	}
	var none apitypes.List[terminal.Session]
	h.must(http.StatusOK, admin, "GET", "/terminal-sessions?tenant=bank", nil).decode(t, &none)
	if len(none.Items) != 2 {
		t.Errorf("%d sessions after two execs and a refused origin, want 2", len(none.Items))
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: auth})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	var shown strings.Builder
	var session string
	read := func() apitypes.TerminalMessage {
		t.Helper()
		for {
			var m apitypes.TerminalMessage
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				t.Fatal(err)
			}
			switch m.Type {
			case "opened":
				session = m.Session
			case "output":
				shown.WriteString(m.Data)
			default:
				return m
			}
		}
	}
	lines := []string{"grep -c ERROR " + logFile, "cat " + logFile, "tail -n 1 " + logFile}
	var results []terminal.Command
	for _, l := range lines {
		if err := wsjson.Write(ctx, conn, apitypes.TerminalMessage{Type: "line", Line: l}); err != nil {
			t.Fatal(err)
		}
		m := read()
		if m.Type != "result" || m.Command == nil {
			t.Fatalf("after %q: %+v, want a result", l, m)
		}
		results = append(results, *m.Command)
	}
	if !results[0].Allowed || results[1].Allowed || !results[2].Allowed {
		t.Errorf("decisions %+v, want allowed, refused (cat is not in the policy), allowed", results)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	want := "2\n" + "berth: 终端策略拒绝执行 (command-not-allowed): " + `"cat" is not allowed; allowed: tail, grep` + "\r\n" + "ERROR d\n"
	if shown.String() != want {
		t.Errorf("the socket showed %q, want %q", shown.String(), want)
	}
	// The session ends when the socket closes; its recording replays what
	// the socket showed.
	var v apitypes.TerminalSessionView
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		h.must(http.StatusOK, admin, "GET", "/terminal-sessions/"+session, nil).decode(t, &v)
		return v.Session.Ended(), nil
	})
	if err != nil || len(v.Commands) != len(lines) {
		t.Fatalf("session %s: %+v (%v), want ended with %d commands", session, v.Session, err, len(lines))
	}
	rec := h.must(http.StatusOK, admin, "GET", "/terminal-sessions/"+session+"/recording", nil)
	_, evs, err := terminal.ReadRecording(strings.NewReader(string(rec.body)))
	if err != nil {
		t.Fatal(err)
	}
	if got := terminal.Replay(evs); got != shown.String() {
		t.Errorf("the recording replays %q, the socket showed %q", got, shown.String())
	}
}

// TestTerminalSlotsBoundEachUserAndTheServer: a user's fifth terminal is
// refused while four are open, and a slot comes back when one closes.
func TestTerminalSlotsBoundEachUserAndTheServer(t *testing.T) {
	t.Parallel()
	s := &slots{perUser: MaxTerminalsPerUser, max: MaxTerminals}
	for i := range MaxTerminalsPerUser {
		if !s.take("vera") {
			t.Fatalf("terminal %d of vera refused", i+1)
		}
	}
	if s.take("vera") {
		t.Fatalf("vera opened more than %d terminals", MaxTerminalsPerUser)
	}
	if !s.take("otto") {
		t.Fatal("another user was refused because of vera")
	}
	s.give("vera")
	if !s.take("vera") {
		t.Fatal("a closed terminal's slot did not come back")
	}
	all := &slots{perUser: MaxTerminalsPerUser, max: MaxTerminals}
	for i := range MaxTerminals {
		if !all.take(fmt.Sprintf("user-%d", i)) {
			t.Fatalf("terminal %d of the server refused", i+1)
		}
	}
	if all.take("one-more") {
		t.Fatalf("the server opened more than %d terminals", MaxTerminals)
	}
}
