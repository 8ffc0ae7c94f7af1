package terminal

import (
	"context"
	"io"
	"time"
)

// Target is the container a session runs in.
type Target struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Application string `json:"application"`
	Environment string `json:"environment"`
	Cluster     string `json:"cluster,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Pod         string `json:"pod,omitempty"`
	Container   string `json:"container,omitempty"`
}

// Session is one terminal session as recorded: who, where, under which
// policy, and, once ended, why it ended and the SHA-256 of its recording.
type Session struct {
	ID     string `json:"id"`
	User   string `json:"user"`
	Target Target `json:"target"`
	Policy string `json:"policy"`
	Mode   Mode   `json:"mode"`
	// Recording names the asciicast v2 file of the session.
	Recording string    `json:"recording"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	// EndReason: "closed", "idle", "max-duration", "error".
	EndReason string `json:"endReason,omitempty"`
	// RecordingSHA256 is the hex SHA-256 of the whole recording, set at
	// the end and written to the audit trail too.
	RecordingSHA256 string `json:"recordingSHA256,omitempty"`
	Commands        int    `json:"commands"`
	Refused         int    `json:"refused"`
	ResourceVersion int64  `json:"resourceVersion"`
}

// Ended reports whether s has ended.
func (s Session) Ended() bool { return !s.EndedAt.IsZero() }

// Command is one submitted line of a session and what became of it.
type Command struct {
	Session string     `json:"session"`
	Seq     int64      `json:"seq"`
	At      time.Time  `json:"at"`
	Line    string     `json:"line"`
	Argv    [][]string `json:"argv,omitempty"`
	Allowed bool       `json:"allowed"`
	Rule    string     `json:"rule"`
	Reason  Reason     `json:"reason,omitempty"`
	Detail  string     `json:"detail,omitempty"`
	// ExitCode is the last command's exit code; -1 when it did not run to
	// an exit (refused, timed out, stream broken).
	ExitCode int `json:"exitCode"`
	// DurationMS is how long it ran, in milliseconds.
	DurationMS int64 `json:"durationMs"`
	// OutputTruncated: the output passed the policy's limit and was cut.
	OutputTruncated bool `json:"outputTruncated,omitempty"`
}

// Store is what the terminal needs of the database.
type Store interface {
	PutTerminalPolicy(ctx context.Context, p Policy, prevRV int64) error
	GetTerminalPolicy(ctx context.Context, name string) (Policy, error)
	DeleteTerminalPolicy(ctx context.Context, name string, prevRV int64) error
	ListTerminalPolicies(ctx context.Context, after string, limit int) ([]Policy, error)
	CreateTerminalSession(ctx context.Context, s Session) error
	UpdateTerminalSession(ctx context.Context, s Session, prevRV int64) error
	GetTerminalSession(ctx context.Context, id string) (Session, error)
	// ListTerminalSessions lists sessions newest first, those before the
	// id before (all when empty), of tenant (all when empty).
	ListTerminalSessions(ctx context.Context, tenant, before string, limit int) ([]Session, error)
	AddTerminalCommand(ctx context.Context, c Command) error
	// UpdateTerminalCommand records a command's result once (it was added
	// before it ran).
	UpdateTerminalCommand(ctx context.Context, c Command) error
	TerminalCommands(ctx context.Context, session string) ([]Command, error)
}

// Pod is a pod of an application, as the cluster reports it.
type Pod struct {
	Name       string
	Containers []string
	Running    bool
}

// ExecSpec is one command to run in a container, as argv.
type ExecSpec struct {
	Namespace, Pod, Container string
	Argv                      []string
	// Stdin, when not nil, is connected; else the command reads end of file.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY gives the command a terminal (a full shell); Stderr is then unused.
	TTY bool
}

// Cluster is what sessions need of the clusters: an application's pods,
// and exec through the API server. internal/kube implements it.
type Cluster interface {
	Pods(ctx context.Context, cluster, namespace, app string) ([]Pod, error)
	// Exec runs s and returns its exit code, or an error when it could not
	// run to an exit.
	Exec(ctx context.Context, cluster string, s ExecSpec) (int, error)
}
