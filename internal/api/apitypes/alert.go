package apitypes

import (
	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/slo"
)

// AlertRule is a project's alert rule, as PUT takes it and reads answer
// (tenant, project and name come from the path).
type AlertRule = alert.Rule

// AlertReceiver is where a project's alerts are sent; reads show the URL
// redacted and never the token.
type AlertReceiver = alert.Receiver

// AlertEmail is an email receiver's SMTP server and recipients; its
// password is write-only (sealed at rest, never shown).
type AlertEmail = alert.Email

// Silence is a silence of a project's alerts in Alertmanager.
type Silence = alert.Silence

// Alert is an alert Alertmanager holds now.
type Alert = alert.Alert

// SilenceRequest asks to silence a project's alerts: all, or those of an
// environment, an application or a rule, for a duration ("2h").
type SilenceRequest struct {
	Environment string `json:"environment,omitempty"`
	Application string `json:"application,omitempty"`
	Rule        string `json:"rule,omitempty"`
	Duration    string `json:"duration"`
	Comment     string `json:"comment"`
}

// AlertmanagerNotification is what Alertmanager posts to a receiver's hook.
type AlertmanagerNotification = alert.Notification

// SLO is a project's service level objective, as PUT takes it and reads
// answer (tenant, project and name come from the path).
type SLO = slo.SLO

// SLOBudget is where an SLO's error budget stands, read from Prometheus.
type SLOBudget = slo.Budget

// AlertEvent is one alert of a project's history, with its
// acknowledgement.
type AlertEvent = alert.Event

// AckRequest acknowledges an alert: what is being done about it.
type AckRequest struct {
	Reason string `json:"reason"`
}
