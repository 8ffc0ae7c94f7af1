package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/terminal"
)

// MaxTerminalMessage bounds one WebSocket message of a terminal: a line is
// at most terminal.HardMaxLineBytes; the rest is JSON framing.
const MaxTerminalMessage = 16 << 10

// Bounds on open interactive terminals: per user, and on the server.
const (
	MaxTerminalsPerUser = 4
	MaxTerminals        = 256
)

var errTooManyTerminals = &httpError{status: http.StatusTooManyRequests, code: i18n.TerminalTooMany, retryAfter: 5 * time.Second,
	cause: errors.New("too many open terminals")}

// MaxTerminalOutput bounds what POST .../exec returns (the policy's own
// limit is usually lower).
const MaxTerminalOutput = 4 << 20

func (a *API) registerTerminal() {
	base := "/tenants/{tenant}/projects/{project}/environments/{environment}/deployments/{app}"
	a.route(Route{Method: "POST", Path: base + "/exec", Summary: "Run one line in a restricted terminal session of its own (opened, recorded, audited, ended); the caller's TerminalPolicy decides",
		Request: "TerminalExecRequest", Response: "TerminalExecResult", Status: http.StatusOK}, a.terminalExec)
	a.route(Route{Method: "GET", Path: base + "/terminal", Summary: "Open an interactive terminal session: a WebSocket of TerminalMessage JSON texts once the session is open (mode restricted or shell)",
		Query: []string{"pod", "container", "mode"}, Response: "TerminalSocket", Status: http.StatusSwitchingProtocols}, a.terminalSocket)
	a.route(Route{Method: "GET", Path: "/terminal-sessions", Summary: "List terminal sessions newest first: of one tenant, or every tenant for platform callers",
		Query: []string{"tenant", "before", "limit"}, Response: "List[TerminalSession]"}, a.listTerminalSessions)
	a.route(Route{Method: "GET", Path: "/terminal-sessions/{id}", Summary: "Get a terminal session with every line submitted in it",
		Response: "TerminalSessionView"}, a.getTerminalSession)
	a.route(Route{Method: "GET", Path: "/terminal-sessions/{id}/recording", Summary: "The recording of an ended session (asciicast v2), checked against the SHA-256 recorded when it ended",
		Response: "TerminalRecording"}, a.terminalRecording)
}

func terminalTarget(r *http.Request) terminal.Target {
	return terminal.Target{Tenant: r.PathValue("tenant"), Project: r.PathValue("project"), Application: r.PathValue("app"),
		Environment: r.PathValue("environment"), Pod: r.URL.Query().Get("pod"), Container: r.URL.Query().Get("container")}
}

func (a *API) terminalExec(w http.ResponseWriter, r *http.Request) error {
	t := terminalTarget(r)
	if err := a.authorize(r, authz.TerminalOpen, authz.ProjectScope(t.Tenant, t.Project)); err != nil {
		return err
	}
	var req apitypes.TerminalExecRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	t.Pod, t.Container = req.Pod, req.Container
	s, err := a.p.OpenTerminal(r.Context(), a.caller(r), t, terminal.Restricted)
	if err != nil {
		return err
	}
	s.Lang = i18n.Pick(r.Header.Get("Accept-Language"))
	var out bytes.Buffer
	cmd, err := a.p.TerminalLine(r.Context(), s, req.Line, &cappedBuffer{b: &out, left: MaxTerminalOutput})
	if endErr := a.p.EndTerminal(r.Context(), s, "closed"); err == nil {
		err = endErr
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apitypes.TerminalExecResult{Session: s.ID, Command: cmd, Output: out.String()})
}

// cappedBuffer keeps at most left bytes and drops the rest.
type cappedBuffer struct {
	b    *bytes.Buffer
	left int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	n := min(len(p), c.left)
	c.b.Write(p[:n])
	c.left -= n
	return len(p), nil
}

// terminalSocket opens the session first, so that every refusal is an
// ordinary HTTP error, then upgrades (the origin must be the API's own
// host) and serves TerminalMessages until the session ends.
func (a *API) terminalSocket(w http.ResponseWriter, r *http.Request) error {
	t := terminalTarget(r)
	if err := a.authorize(r, authz.TerminalOpen, authz.ProjectScope(t.Tenant, t.Project)); err != nil {
		return err
	}
	mode := terminal.Mode(r.URL.Query().Get("mode"))
	if mode == "" {
		mode = terminal.Restricted
	}
	if mode != terminal.Restricted && mode != terminal.Shell {
		var errs resource.Errors
		errs.Add("mode", "must be %q or %q", terminal.Restricted, terminal.Shell)
		return errs.Err()
	}
	if !sameOrigin(r) {
		return fmt.Errorf("terminal from origin %q: %w", r.Header.Get("Origin"), errForbidden)
	}
	user := a.caller(r).User
	if !a.terminals.take(user) {
		return errTooManyTerminals
	}
	defer a.terminals.give(user)
	ctx := context.WithoutCancel(r.Context())
	s, err := a.p.OpenTerminal(r.Context(), a.caller(r), t, mode)
	if err != nil {
		return err
	}
	s.Lang = i18n.Pick(r.Header.Get("Accept-Language"))
	conn, err := websocket.Accept(w, r, nil) // checks the Origin against the Host
	if err != nil {
		// Accept has answered the request with the reason.
		a.log.Warn("terminal upgrade refused", "session", s.ID, "err", err)
		return a.p.EndTerminal(ctx, s, "error")
	}
	conn.SetReadLimit(MaxTerminalMessage)
	reason := a.serveTerminal(ctx, conn, s)
	if err := a.p.EndTerminal(ctx, s, reason); err != nil {
		a.log.Error("terminal session end", "session", s.ID, "err", err)
	}
	_ = wsjson.Write(ctx, conn, apitypes.TerminalMessage{Type: "ended", Session: s.ID, Reason: reason})
	conn.Close(websocket.StatusNormalClosure, reason)
	return nil
}

// sameOrigin reports whether a browser's request comes from a page of this
// server (websocket.Accept checks it too, but only after the session would
// be open). Clients that are not browsers send no Origin.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// socketWriter sends what the session shows as "output" messages.
type socketWriter struct {
	ctx  context.Context
	conn *websocket.Conn
	mu   sync.Mutex
}

func (s *socketWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := wsjson.Write(s.ctx, s.conn, apitypes.TerminalMessage{Type: "output", Data: string(p)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

// serveTerminal reads lines until the client closes, the session's
// deadline (idle or maximum length) passes, or the session fails; it
// returns why it ended.
func (a *API) serveTerminal(ctx context.Context, conn *websocket.Conn, s *platform.TerminalSession) string {
	out := &socketWriter{ctx: ctx, conn: conn}
	if err := wsjson.Write(ctx, conn, apitypes.TerminalMessage{Type: "opened", Session: s.ID,
		Message: fmt.Sprintf("%s session into %s/%s under policy %s", s.Mode, s.Target.Pod, s.Target.Container, s.Session.Policy)}); err != nil {
		return "error"
	}
	if s.Mode == terminal.Shell {
		return a.serveShell(ctx, conn, s, out)
	}
	for {
		rctx, cancel := context.WithDeadline(ctx, s.Deadline())
		var msg apitypes.TerminalMessage
		err := wsjson.Read(rctx, conn, &msg)
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return a.deadlineReason(s)
		case websocket.CloseStatus(err) != -1:
			return "closed"
		case err != nil:
			return "error"
		case msg.Type != "line":
			continue
		}
		cmd, err := a.p.TerminalLine(ctx, s, msg.Line, out)
		if errors.Is(err, platform.ErrSessionEnded) {
			return s.EndReason
		}
		if err != nil {
			a.log.Error("terminal line", "session", s.ID, "err", err)
			return "error"
		}
		if err := wsjson.Write(ctx, conn, apitypes.TerminalMessage{Type: "result", Command: &cmd}); err != nil {
			return "error"
		}
	}
}

func (a *API) deadlineReason(s *platform.TerminalSession) string {
	if !a.p.Clock.Now().Before(s.StartedAt.Add(s.Policy().Limits().MaxDuration)) {
		return "max-duration"
	}
	return "idle"
}

// serveShell carries keystrokes to the shell and its output back.
func (a *API) serveShell(ctx context.Context, conn *websocket.Conn, s *platform.TerminalSession, out io.Writer) string {
	in, inW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- a.p.TerminalShell(ctx, s, in, out) }()
	for {
		rctx, cancel := context.WithDeadline(ctx, s.Deadline())
		var msg apitypes.TerminalMessage
		err := wsjson.Read(rctx, conn, &msg)
		cancel()
		reason := ""
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			reason = a.deadlineReason(s)
		case websocket.CloseStatus(err) != -1:
			reason = "closed"
		case err != nil:
			reason = "error"
		}
		if reason != "" {
			inW.Close()
			<-done
			return reason
		}
		if msg.Type != "input" {
			continue
		}
		if _, err := io.WriteString(inW, msg.Data); err != nil {
			return "closed" // the shell exited
		}
		select {
		case <-done:
			return "closed"
		default:
		}
	}
}

func (a *API) listTerminalSessions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	tenant := q.Get("tenant")
	if tenant == "" {
		if err := a.authorize(r, authz.TerminalSessionRead, authz.Platform); err != nil {
			return err
		}
	}
	decide(r) // one tenant's: the platform filters by the caller's bindings
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			var errs resource.Errors
			errs.Add("limit", "must be a non-negative number")
			return errs.Err()
		}
		limit = n
	}
	var items []terminal.Session
	err := a.view(r, func(tx platform.Tx) (err error) {
		items, err = a.p.TerminalSessions(r.Context(), tx, a.caller(r), tenant, q.Get("before"), limit)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, resource.Page[terminal.Session]{Items: items})
}

func (a *API) getTerminalSession(w http.ResponseWriter, r *http.Request) error {
	decide(r) // the platform checks terminal-session:read at the session's project
	var v apitypes.TerminalSessionView
	err := a.view(r, func(tx platform.Tx) (err error) {
		v.Session, v.Commands, err = a.p.TerminalSession(r.Context(), tx, a.caller(r), r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	if v.Commands == nil {
		v.Commands = []terminal.Command{}
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) terminalRecording(w http.ResponseWriter, r *http.Request) error {
	decide(r) // the platform checks terminal-session:read at the session's project
	var rec []byte
	var s terminal.Session
	err := a.view(r, func(tx platform.Tx) (err error) {
		s, rec, err = a.p.ReplayTerminal(r.Context(), tx, a.caller(r), r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-asciicast")
	w.Header().Set("X-Recording-Sha256", s.RecordingSHA256)
	w.Header().Set("Content-Length", fmt.Sprint(len(rec)))
	_, err = w.Write(rec)
	return err
}
