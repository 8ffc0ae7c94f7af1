package platform

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/resource"
)

// # Alerting
//
// A project's alert rules and receivers are desired state: each change is
// audited in its transaction and announced (change.Alert) after commit,
// and internal/alert/prom renders them into Prometheus and Alertmanager.
// Reading takes alert:read at the project; rules and silences
// alert:write; receivers alert:manage-receivers; a custom PromQL
// expression also alert:write-custom (Prometheus evaluates it over every
// tenant's series, so only platform admins hold it). Silences are created
// in Alertmanager inside the transaction that audits them: a silence
// Alertmanager refused is no record, a record whose transaction failed
// after it was created is audited as a failure.

// PutAlertRule creates or replaces r.
func (p *Platform) PutAlertRule(ctx context.Context, c Caller, r alert.Rule) (out alert.Rule, created bool, err error) {
	ev := audit.Event{Tenant: r.Tenant, Project: r.Project, Action: "alert-rule.put", Target: r.Path()}
	err = p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		out, created, err = p.putAlertRule(ctx, tx, c, r)
		return err
	})
	return out, created, err
}

func (p *Platform) putAlertRule(ctx context.Context, tx Tx, c Caller, r alert.Rule) (alert.Rule, bool, error) {
	scope := scopeOf(r.Tenant, r.Project)
	if err := c.may(authz.AlertWrite, scope); err != nil {
		return alert.Rule{}, false, err
	}
	if r.Expr != "" {
		if err := c.may(authz.AlertCustom, scope); err != nil {
			return alert.Rule{}, false, err
		}
	}
	return p.Alerting.PutRule(ctx, tx, c.Actor, r)
}

// ApplyAlertRule is PutAlertRule in the caller's transaction (manifest
// apply): "created", "updated", or "unchanged" when r's spec is the
// stored one's (nothing written).
func (p *Platform) ApplyAlertRule(ctx context.Context, tx Tx, c Caller, r alert.Rule) (string, error) {
	old, err := tx.GetAlertRule(ctx, r.Tenant, r.Project, r.Name)
	if err == nil {
		r.ResourceVersion, r.CreatedAt, r.UpdatedAt = old.ResourceVersion, old.CreatedAt, old.UpdatedAt
		if reflect.DeepEqual(normalLabels(old), normalLabels(r)) {
			return "unchanged", c.may(authz.AlertWrite, scopeOf(r.Tenant, r.Project))
		}
	}
	_, created, err := p.putAlertRule(ctx, tx, c, r)
	return map[bool]string{true: "created", false: "updated"}[created], err
}

func normalLabels(r alert.Rule) alert.Rule {
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	return r
}

// DeleteAlertRule deletes a rule.
func (p *Platform) DeleteAlertRule(ctx context.Context, c Caller, tenant, project, name string) error {
	ev := audit.Event{Tenant: tenant, Project: project, Action: "alert-rule.delete", Target: alert.Rule{Tenant: tenant, Project: project, Name: name}.Path()}
	return p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.AlertWrite, scopeOf(tenant, project)); err != nil {
			return err
		}
		return p.Alerting.DeleteRule(ctx, tx, c.Actor, tenant, project, name)
	})
}

// AlertRules lists a project's rules by name.
func (p *Platform) AlertRules(ctx context.Context, c Caller, tenant, project string) ([]alert.Rule, error) {
	if err := c.may(authz.AlertRead, scopeOf(tenant, project)); err != nil {
		return nil, err
	}
	var out []alert.Rule
	err := p.DB.View(ctx, func(tx Tx) (err error) {
		if _, err := tx.GetProject(ctx, tenant, project); err != nil {
			return fmt.Errorf("project %s/%s: %w", tenant, project, err)
		}
		out, err = tx.ListAlertRules(ctx, tenant, project)
		return err
	})
	return out, err
}

// PutAlertReceiver creates or replaces r; the answer is redacted.
func (p *Platform) PutAlertReceiver(ctx context.Context, c Caller, r alert.Receiver) (out alert.Receiver, created bool, err error) {
	ev := audit.Event{Tenant: r.Tenant, Project: r.Project, Action: "alert-receiver.put", Target: r.Path()}
	err = p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		out, created, err = p.putAlertReceiver(ctx, tx, c, r)
		return err
	})
	return out.Redacted(), created, err
}

func (p *Platform) putAlertReceiver(ctx context.Context, tx Tx, c Caller, r alert.Receiver) (alert.Receiver, bool, error) {
	if err := c.may(authz.AlertReceiverManage, scopeOf(r.Tenant, r.Project)); err != nil {
		return alert.Receiver{}, false, err
	}
	if _, err := tx.GetProject(ctx, r.Tenant, r.Project); err != nil {
		return alert.Receiver{}, false, fmt.Errorf("project %s/%s: %w", r.Tenant, r.Project, err)
	}
	return p.Alerting.PutReceiver(ctx, tx, c.Actor, r)
}

// ApplyAlertReceiver is PutAlertReceiver in the caller's transaction
// (manifest apply): "created", "updated", or "unchanged" when kind, URL
// and severities are the stored ones (nothing written; an email receiver,
// whose password is stored sealed, is always updated).
func (p *Platform) ApplyAlertReceiver(ctx context.Context, tx Tx, c Caller, r alert.Receiver) (string, error) {
	if err := c.may(authz.AlertReceiverManage, scopeOf(r.Tenant, r.Project)); err != nil {
		return "", err
	}
	old, err := tx.GetAlertReceiver(ctx, r.Tenant, r.Project, r.Name)
	if err == nil && r.Kind != alert.EmailKind && old.Kind == r.Kind && old.URL == r.URL && slices.Equal(old.Severities, r.Severities) {
		return "unchanged", nil
	}
	_, created, err := p.putAlertReceiver(ctx, tx, c, r)
	return map[bool]string{true: "created", false: "updated"}[created], err
}

// DeleteAlertReceiver deletes a receiver.
func (p *Platform) DeleteAlertReceiver(ctx context.Context, c Caller, tenant, project, name string) error {
	ev := audit.Event{Tenant: tenant, Project: project, Action: "alert-receiver.delete",
		Target: alert.Receiver{Tenant: tenant, Project: project, Name: name}.Path()}
	return p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.AlertReceiverManage, scopeOf(tenant, project)); err != nil {
			return err
		}
		return p.Alerting.DeleteReceiver(ctx, tx, c.Actor, tenant, project, name)
	})
}

// AlertReceivers lists a project's receivers by name, redacted.
func (p *Platform) AlertReceivers(ctx context.Context, c Caller, tenant, project string) ([]alert.Receiver, error) {
	if err := c.may(authz.AlertRead, scopeOf(tenant, project)); err != nil {
		return nil, err
	}
	var out []alert.Receiver
	err := p.DB.View(ctx, func(tx Tx) (err error) {
		if _, err := tx.GetProject(ctx, tenant, project); err != nil {
			return fmt.Errorf("project %s/%s: %w", tenant, project, err)
		}
		out, err = tx.ListAlertReceivers(ctx, tenant, project)
		return err
	})
	for i := range out {
		out[i] = out[i].Redacted()
	}
	return out, err
}

// manager is Alertmanager, or a refusal when none is configured.
func (p *Platform) manager() (alert.Manager, error) {
	if p.AlertManager == nil {
		return nil, resource.Refused("alerting is not configured on this server (no Alertmanager)")
	}
	return p.AlertManager, nil
}

// CreateSilence silences the alerts q selects, in q's project only.
func (p *Platform) CreateSilence(ctx context.Context, c Caller, q alert.SilenceRequest) (alert.Silence, error) {
	var s alert.Silence
	target := "tenants/" + q.Tenant + "/projects/" + q.Project + "/silences"
	ev := audit.Event{Tenant: q.Tenant, Project: q.Project, Action: "alert-silence.create", Target: target}
	err := p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.AlertWrite, scopeOf(q.Tenant, q.Project)); err != nil {
			return err
		}
		m, err := p.manager()
		if err != nil {
			return err
		}
		if s, err = q.Silence(p.Clock.Now().UTC(), c.User); err != nil {
			return err
		}
		if _, err := tx.GetProject(ctx, q.Tenant, q.Project); err != nil {
			return fmt.Errorf("project %s/%s: %w", q.Tenant, q.Project, err)
		}
		ev.Summary = fmt.Sprintf("silenced %s until %s: %q", describeMatchers(s.Matchers), s.EndsAt.Format("2006-01-02T15:04:05Z"), s.Comment)
		if _, err := audit.Append(ctx, tx, p.Clock.Now(), c.Actor, ev); err != nil {
			return err
		}
		s.ID, err = m.CreateSilence(ctx, s)
		return err
	})
	return s, err
}

func describeMatchers(ms []alert.Matcher) string {
	out := ""
	for i, m := range ms {
		if i > 0 {
			out += ","
		}
		out += m.Name + "=" + m.Value
	}
	return out
}

// Silences lists the silences of a project, newest first.
func (p *Platform) Silences(ctx context.Context, c Caller, tenant, project string) ([]alert.Silence, error) {
	if err := c.may(authz.AlertRead, scopeOf(tenant, project)); err != nil {
		return nil, err
	}
	m, err := p.manager()
	if err != nil {
		return nil, err
	}
	all, err := m.Silences(ctx, map[string]string{"tenant": tenant, "project": project})
	if err != nil {
		return nil, err
	}
	out := []alert.Silence{}
	for _, s := range all {
		if s.Within(tenant, project) {
			out = append(out, s)
		}
	}
	return out, nil
}

// ExpireSilence ends silence id of the project now.
func (p *Platform) ExpireSilence(ctx context.Context, c Caller, tenant, project, id string) error {
	ev := audit.Event{Tenant: tenant, Project: project, Action: "alert-silence.expire",
		Target: "tenants/" + tenant + "/projects/" + project + "/silences/" + id, Summary: "expired silence " + id}
	return p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.AlertWrite, scopeOf(tenant, project)); err != nil {
			return err
		}
		m, err := p.manager()
		if err != nil {
			return err
		}
		s, err := m.GetSilence(ctx, id)
		if err == nil && !s.Within(tenant, project) {
			err = resource.ErrNotFound // another project's: not this project's to see
		}
		if err != nil {
			return fmt.Errorf("silence %s: %w", id, err)
		}
		if _, err := audit.Append(ctx, tx, p.Clock.Now(), c.Actor, ev); err != nil {
			return err
		}
		return m.ExpireSilence(ctx, id)
	})
}

// Alerts lists the alerts of a project Alertmanager holds now (firing,
// silenced or not), by name.
func (p *Platform) Alerts(ctx context.Context, c Caller, tenant, project string) ([]alert.Alert, error) {
	if err := c.may(authz.AlertRead, scopeOf(tenant, project)); err != nil {
		return nil, err
	}
	m, err := p.manager()
	if err != nil {
		return nil, err
	}
	return m.Alerts(ctx, map[string]string{"tenant": tenant, "project": project})
}

// ReceiveAlerts takes a notification Alertmanager posts for receiver of
// tenant's project, authenticated by the receiver's token, records its
// alerts in the project's history (alert.Record) and queues the
// group-chat message in the notification outbox, addressed to the
// receiver (internal/notify/webhook delivers it). A wrong token or an
// unknown receiver is resource.ErrUnauthenticated, alike.
func (p *Platform) ReceiveAlerts(ctx context.Context, tenant, project, receiver, token string, n alert.Notification) error {
	return p.DB.InTx(ctx, func(tx Tx) error {
		r, err := tx.GetAlertReceiver(ctx, tenant, project, receiver)
		if errors.Is(err, resource.ErrNotFound) || (err == nil && subtle.ConstantTimeCompare([]byte(r.Token), []byte(token)) != 1) {
			return resource.ErrUnauthenticated
		}
		if err != nil {
			return fmt.Errorf("alert receiver %s: %w", receiver, err)
		}
		if err := n.Check(tenant, project); err != nil {
			return err
		}
		if err := alert.Record(ctx, tx, tenant, project, n, p.Clock.Now()); err != nil {
			return err
		}
		title, text := n.Message()
		event := "alert.firing"
		if n.Status == "resolved" {
			event = "alert.resolved"
		}
		m := notify.Message{Tenant: tenant, Project: project, Event: event, Title: title, Text: text,
			At: p.Clock.Now().UTC(), Format: formatOf(r.Kind), URL: r.URL}
		if e := r.Email; r.Kind == alert.EmailKind && e != nil {
			m.Title, m.Text = n.Mail(e.Language)
			m.Email = &notify.Email{Host: e.Host, Port: e.SMTPPort(), From: e.From, To: e.To, Username: e.Username,
				SealedPassword: e.SealedPassword, PasswordAAD: string(r.PasswordAAD()), Plaintext: e.Plaintext}
		}
		return tx.EnqueueNotification(ctx, m)
	})
}

// formatOf is the notification format of a receiver kind.
func formatOf(kind string) string {
	if kind == alert.Webhook {
		return "json"
	}
	return kind
}

// AlertHistory lists the project's alert history, newest first: at most
// limit (0: alert.DefaultHistoryLimit; at most alert.MaxHistory).
func (p *Platform) AlertHistory(ctx context.Context, c Caller, tenant, project string, limit int) ([]alert.Event, error) {
	if err := c.may(authz.AlertRead, scopeOf(tenant, project)); err != nil {
		return nil, err
	}
	if limit < 0 || limit > alert.MaxHistory {
		var errs resource.Errors
		errs.Add("limit", "must be between 1 and %d, got %d", alert.MaxHistory, limit)
		return nil, errs.Err()
	}
	if limit == 0 {
		limit = alert.DefaultHistoryLimit
	}
	out := []alert.Event{}
	err := p.DB.View(ctx, func(tx Tx) error {
		if _, err := tx.GetProject(ctx, tenant, project); err != nil {
			return fmt.Errorf("project %s/%s: %w", tenant, project, err)
		}
		l, err := tx.ListAlertEvents(ctx, tenant, project, limit)
		out = append(out, l...)
		return err
	})
	return out, err
}

// AcknowledgeAlert records that the caller is on alert id of the project,
// and why; it takes alert:write and is audited (alert.acknowledge).
func (p *Platform) AcknowledgeAlert(ctx context.Context, c Caller, tenant, project, id, reason string) (e alert.Event, err error) {
	ev := audit.Event{Tenant: tenant, Project: project, Action: "alert.acknowledge",
		Target: alert.Event{Tenant: tenant, Project: project, ID: id}.Path()}
	err = p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.AlertWrite, scopeOf(tenant, project)); err != nil {
			return err
		}
		e, err = p.Alerting.Acknowledge(ctx, tx, c.Actor, tenant, project, id, reason)
		return err
	})
	return e, err
}
