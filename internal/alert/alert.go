// Package alert holds Berth's alerting (F13, issue #15): alert rules per
// application and environment, made from templates (error rate, p99
// latency, restarts, pods not ready) or custom PromQL; receivers per
// project (WeCom, DingTalk and generic webhooks); silences and the alerts
// firing now.
//
// Berth evaluates nothing itself: rules are rendered into Prometheus rule
// files and receivers into Alertmanager's configuration (render.go), which
// internal/alert/prom writes and reloads. Alertmanager posts what fires to
// Berth (Hook), and Berth turns it into group-chat messages through the
// notification outbox (internal/notify), so delivery is durable. Silences
// and the alerts firing now live in Alertmanager, reached through the
// Manager interface.
package alert

import (
	"context"
	"errors"
	"slices"
	"time"
)

// ErrUnavailable: Alertmanager did not answer as it should (503).
var ErrUnavailable = errors.New("alertmanager is unavailable")

// Templates a rule may be made from.
const (
	// ErrorRate: the share of 5xx answers through the Berth gateway over
	// Window, above Threshold (a percentage, "5%").
	ErrorRate = "error-rate"
	// LatencyP99: the 99th percentile of the gateway's request duration
	// over Window, above Threshold (a duration, "300ms").
	LatencyP99 = "latency-p99"
	// Restarts: container restarts of the application's pods over Window,
	// above Threshold (a count, "3").
	Restarts = "restarts"
	// NotReady: pods of the application not ready, above Threshold (a
	// count, "0").
	NotReady = "not-ready"
)

// Templates lists the templates in the order help shows them.
func Templates() []string { return []string{ErrorRate, LatencyP99, Restarts, NotReady} }

// Severities a rule may carry.
const (
	Critical = "critical"
	Warning  = "warning"
	Info     = "info"
)

// Receiver kinds.
const (
	WeCom    = "wecom"
	DingTalk = "dingtalk"
	Webhook  = "webhook"
	// EmailKind sends the alerts as email through an SMTP server.
	EmailKind = "email"
)

// Bounds on what a project may hold and send.
const (
	MaxRulesPerProject     = 200
	MaxReceiversPerProject = 20
	MaxExpr                = 4096
	MaxLabels              = 16
	MaxText                = 1024
	// MaxHookAlerts bounds the alerts one Alertmanager notification may
	// carry into Berth.
	MaxHookAlerts = 1000
	// MaxSilence is the longest a silence may last.
	MaxSilence = 30 * 24 * time.Hour
)

// Rule is one alert rule of a project, evaluated by Prometheus. The alerts
// it raises carry the labels tenant, project, environment, app (when set),
// rule and severity, by which Alertmanager routes them to the project's
// receivers.
type Rule struct {
	Tenant  string `json:"tenant"`
	Project string `json:"project"`
	// Name is unique in the project; it is the alert's name.
	Name        string `json:"name"`
	Environment string `json:"environment"`
	// Application is required by the templates; a custom rule may name
	// one for routing and silences.
	Application string `json:"application,omitempty"`
	// Template, or Expr for a custom rule: exactly one.
	Template  string `json:"template,omitempty"`
	Threshold string `json:"threshold,omitempty"`
	// Window is the range the template's rate looks at (default 5m).
	Window string `json:"window,omitempty"`
	// Expr is a custom PromQL expression: the alert fires while it
	// returns series.
	Expr string `json:"expr,omitempty"`
	// For is how long the condition must hold before the alert fires
	// (default 0s: at once).
	For      string            `json:"for,omitempty"`
	Severity string            `json:"severity,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// Summary is the alert's one line for people (default: from the
	// template or the rule's name).
	Summary         string    `json:"summary,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Path is the rule's resource path, as audit records name it.
func (r Rule) Path() string {
	return "tenants/" + r.Tenant + "/projects/" + r.Project + "/alert-rules/" + r.Name
}

// Receiver is where a project's alerts are sent: a WeCom or DingTalk group
// robot (markdown), a generic webhook (the notification as JSON) or email
// through an SMTP server.
type Receiver struct {
	Tenant  string `json:"tenant"`
	Project string `json:"project"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	// URL is the robot's or webhook's address; it holds the robot's key,
	// so reads show it redacted (Redacted). Email receivers have none.
	URL string `json:"url,omitempty"`
	// Email is the SMTP server and recipients of an email receiver.
	Email *Email `json:"email,omitempty"`
	// Severities, when set, are the only severities sent here.
	Severities []string `json:"severities,omitempty"`
	// Token authenticates Alertmanager's posts for this receiver to Berth;
	// generated, never shown.
	Token           string    `json:"token,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Path is the receiver's resource path, as audit records name it.
func (r Receiver) Path() string {
	return "tenants/" + r.Tenant + "/projects/" + r.Project + "/alert-receivers/" + r.Name
}

// Redacted returns r as reads show it: no token, the URL's query and path
// after the host hidden (robot keys live there).
func (r Receiver) Redacted() Receiver {
	r.Token = ""
	if r.URL != "" {
		r.URL = redactURL(r.URL)
	}
	if r.Email != nil {
		e := *r.Email
		e.Password, e.SealedPassword = "", nil
		e.To = slices.Clone(e.To)
		r.Email = &e
	}
	return r
}

// Store is what the alert service keeps, bound to one transaction.
type Store interface {
	CreateAlertRule(ctx context.Context, r Rule) error
	GetAlertRule(ctx context.Context, tenant, project, name string) (Rule, error)
	UpdateAlertRule(ctx context.Context, r Rule, prevRV int64) error
	DeleteAlertRule(ctx context.Context, tenant, project, name string) error
	// ListAlertRules lists a project's rules by name; AllAlertRules every
	// project's, by tenant, project and name.
	ListAlertRules(ctx context.Context, tenant, project string) ([]Rule, error)
	AllAlertRules(ctx context.Context) ([]Rule, error)

	CreateAlertReceiver(ctx context.Context, r Receiver) error
	GetAlertReceiver(ctx context.Context, tenant, project, name string) (Receiver, error)
	UpdateAlertReceiver(ctx context.Context, r Receiver, prevRV int64) error
	DeleteAlertReceiver(ctx context.Context, tenant, project, name string) error
	ListAlertReceivers(ctx context.Context, tenant, project string) ([]Receiver, error)
	AllAlertReceivers(ctx context.Context) ([]Receiver, error)

	HistoryStore
}

// Checker checks rendered rules the way Prometheus will load them
// (internal/alert/prom runs promtool); it returns an error naming what
// Prometheus refused.
type Checker interface {
	CheckRules(ctx context.Context, file []byte) error
}

// Matcher is one label matcher of a silence.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual bool   `json:"isEqual"`
}

// Silence mutes the alerts its matchers select until EndsAt.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	// State is active, pending or expired.
	State string `json:"state,omitempty"`
}

// Alert is one alert Alertmanager holds now.
type Alert struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt"`
	// State is active, suppressed or unprocessed.
	State      string   `json:"state"`
	SilencedBy []string `json:"silencedBy,omitempty"`
}

// Manager is Alertmanager, as the application layer reaches it.
type Manager interface {
	CreateSilence(ctx context.Context, s Silence) (string, error)
	GetSilence(ctx context.Context, id string) (Silence, error)
	// Silences and Alerts return those whose labels match every matcher
	// of scope (label equality).
	Silences(ctx context.Context, scope map[string]string) ([]Silence, error)
	ExpireSilence(ctx context.Context, id string) error
	Alerts(ctx context.Context, scope map[string]string) ([]Alert, error)
}
