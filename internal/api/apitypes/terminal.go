package apitypes

import "berth.dev/berth/internal/terminal"

// TerminalExecRequest is the body of POST .../exec: one line run in a
// restricted session of its own (opened, run, ended).
type TerminalExecRequest struct {
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
	Line      string `json:"line"`
}

// TerminalExecResult is the answer of POST .../exec: what the line showed
// (output and stderr, as the terminal showed them), what became of it, and
// the session that recorded it.
type TerminalExecResult struct {
	Session string           `json:"session"`
	Command terminal.Command `json:"command"`
	Output  string           `json:"output"`
}

// TerminalSessionView is a session with its commands.
type TerminalSessionView struct {
	Session  terminal.Session   `json:"session"`
	Commands []terminal.Command `json:"commands"`
}

// TerminalMessage is one WebSocket message of an interactive terminal, in
// either direction, as JSON text. From the client: "line" (a submitted
// line of a restricted session), "input" (keystrokes of a shell session),
// "resize" (Cols, Rows). From the server: "opened" (Session, Message),
// "output" (Data), "result" (the Command of a line), "ended" (Reason).
type TerminalMessage struct {
	Type    string            `json:"type"`
	Line    string            `json:"line,omitempty"`
	Data    string            `json:"data,omitempty"`
	Cols    int               `json:"cols,omitempty"`
	Rows    int               `json:"rows,omitempty"`
	Command *terminal.Command `json:"command,omitempty"`
	Session string            `json:"session,omitempty"`
	Reason  string            `json:"reason,omitempty"`
	Code    string            `json:"code,omitempty"`
	Message string            `json:"message,omitempty"`
}
