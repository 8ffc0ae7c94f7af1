package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/resource"
)

// Alerting (docs/observability.md): a project's alert rules, receivers,
// silences and firing alerts, and the hook Alertmanager posts to.
func (a *API) registerAlerts() {
	proj := "/tenants/{tenant}/projects/{project}"
	a.route(Route{Method: "GET", Path: proj + "/alert-rules", Summary: "List a project's alert rules", Response: "AlertRules"}, a.listAlertRules)
	a.route(Route{Method: "PUT", Path: proj + "/alert-rules/{name}", Summary: "Create or replace an alert rule (a template with a threshold, or custom PromQL); Prometheus checks it before it is saved",
		Request: "AlertRule", Response: "AlertRule"}, a.putAlertRule)
	a.route(Route{Method: "DELETE", Path: proj + "/alert-rules/{name}", Summary: "Delete an alert rule", Response: "none"}, a.deleteAlertRule)
	a.route(Route{Method: "GET", Path: proj + "/alert-receivers", Summary: "List a project's alert receivers (URLs redacted)", Response: "AlertReceivers"}, a.listAlertReceivers)
	a.route(Route{Method: "PUT", Path: proj + "/alert-receivers/{name}", Summary: "Create or replace an alert receiver (wecom, dingtalk or webhook)",
		Request: "AlertReceiver", Response: "AlertReceiver"}, a.putAlertReceiver)
	a.route(Route{Method: "DELETE", Path: proj + "/alert-receivers/{name}", Summary: "Delete an alert receiver", Response: "none"}, a.deleteAlertReceiver)
	a.route(Route{Method: "GET", Path: proj + "/silences", Summary: "List a project's silences in Alertmanager, newest first", Response: "Silences"}, a.listSilences)
	a.route(Route{Method: "POST", Path: proj + "/silences", Summary: "Silence a project's alerts (all, or an environment's, an application's or a rule's) for a duration",
		Request: "SilenceRequest", Response: "Silence"}, a.createSilence)
	a.route(Route{Method: "DELETE", Path: proj + "/silences/{id}", Summary: "Expire a silence now", Response: "none"}, a.expireSilence)
	a.route(Route{Method: "GET", Path: proj + "/alerts", Summary: "List the project's alerts Alertmanager holds now (active or suppressed)", Response: "Alerts"}, a.listAlerts)
	a.route(Route{Method: "GET", Path: proj + "/alert-history", Summary: "List the project's alert history kept by Berth (what Alertmanager sent, firing and resolved, with acknowledgements), newest first",
		Query: []string{"limit"}, Response: "AlertHistory"}, a.alertHistory)
	a.route(Route{Method: "POST", Path: proj + "/alert-history/{id}/acknowledge", Summary: "Acknowledge an alert of the history: who, when and why (audited)",
		Request: "AckRequest", Response: "AlertEvent", Status: http.StatusOK}, a.acknowledgeAlert)
	a.route(Route{Method: "POST", Path: "/alert-hooks/{tenant}/{project}/{receiver}", Public: true,
		Summary: "Alertmanager's webhook for a receiver, authenticated by the receiver's token (Authorization: Bearer); " +
			"queues the receiver's group-chat message", Request: "AlertmanagerNotification", Response: "none"}, a.alertHook)
}

func (a *API) listAlertRules(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertRead, s); err != nil {
		return err
	}
	out, err := a.p.AlertRules(r.Context(), a.caller(r), s.Tenant, s.Project)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(out))
}

func (a *API) putAlertRule(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertWrite, s); err != nil {
		return err
	}
	var rule apitypes.AlertRule
	if err := decode(r, &rule); err != nil {
		return err
	}
	rule.Tenant, rule.Project, rule.Name = s.Tenant, s.Project, r.PathValue("name")
	out, _, err := a.p.PutAlertRule(r.Context(), a.caller(r), rule)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteAlertRule(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertWrite, s); err != nil {
		return err
	}
	if err := a.p.DeleteAlertRule(r.Context(), a.caller(r), s.Tenant, s.Project, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAlertReceivers(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertRead, s); err != nil {
		return err
	}
	out, err := a.p.AlertReceivers(r.Context(), a.caller(r), s.Tenant, s.Project)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, nonNil(out))
}

func (a *API) putAlertReceiver(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertReceiverManage, s); err != nil {
		return err
	}
	var rc apitypes.AlertReceiver
	if err := decode(r, &rc); err != nil {
		return err
	}
	rc.Tenant, rc.Project, rc.Name = s.Tenant, s.Project, r.PathValue("name")
	out, _, err := a.p.PutAlertReceiver(r.Context(), a.caller(r), rc)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteAlertReceiver(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertReceiverManage, s); err != nil {
		return err
	}
	if err := a.p.DeleteAlertReceiver(r.Context(), a.caller(r), s.Tenant, s.Project, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listSilences(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertRead, s); err != nil {
		return err
	}
	out, err := a.p.Silences(r.Context(), a.caller(r), s.Tenant, s.Project)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) createSilence(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertWrite, s); err != nil {
		return err
	}
	var q apitypes.SilenceRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	d, err := time.ParseDuration(q.Duration)
	if err != nil {
		var errs resource.Errors
		errs.Add("duration", "must be a duration such as \"2h\" or \"30m\", got %q", q.Duration)
		return errs.Err()
	}
	out, err := a.p.CreateSilence(r.Context(), a.caller(r), alert.SilenceRequest{Tenant: s.Tenant, Project: s.Project,
		Environment: q.Environment, Application: q.Application, Rule: q.Rule, Duration: d, Comment: q.Comment})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, out)
}

func (a *API) expireSilence(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertWrite, s); err != nil {
		return err
	}
	if err := a.p.ExpireSilence(r.Context(), a.caller(r), s.Tenant, s.Project, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAlerts(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertRead, s); err != nil {
		return err
	}
	out, err := a.p.Alerts(r.Context(), a.caller(r), s.Tenant, s.Project)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) alertHistory(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertRead, s); err != nil {
		return err
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			var errs resource.Errors
			errs.Add("limit", "must be a whole number, got %q", v)
			return errs.Err()
		}
		limit = n
	}
	out, err := a.p.AlertHistory(r.Context(), a.caller(r), s.Tenant, s.Project, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) acknowledgeAlert(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.AlertWrite, s); err != nil {
		return err
	}
	var req apitypes.AckRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	out, err := a.p.AcknowledgeAlert(r.Context(), a.caller(r), s.Tenant, s.Project, r.PathValue("id"), req.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// alertHook takes Alertmanager's notification for a receiver: the
// receiver's token authenticates it (constant-time compare), the body is
// bounded by the route (MaxBody) and its alerts by alert.MaxHookAlerts.
func (a *API) alertHook(w http.ResponseWriter, r *http.Request) error {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return resource.ErrUnauthenticated
	}
	// Not strict: a newer Alertmanager may add fields.
	var n apitypes.AlertmanagerNotification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		return badJSON(err)
	}
	err := a.p.ReceiveAlerts(r.Context(), r.PathValue("tenant"), r.PathValue("project"), r.PathValue("receiver"), token, n)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
