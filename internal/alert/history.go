package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// Bounds of the alert history.
const (
	// MaxHistory is how many alerts a project's history keeps: the
	// newest by start; older ones are dropped as new ones arrive.
	MaxHistory = 1000
	// DefaultHistoryLimit is how many a read answers unless asked.
	DefaultHistoryLimit = 100
)

// Event is one alert of a project's history: an alert Alertmanager sent
// to one of the project's receivers (Berth's hook), from the first
// notification that it fires to the one that it resolved.
type Event struct {
	Tenant  string `json:"tenant"`
	Project string `json:"project"`
	// ID names the alert in its project: its start and a digest of its
	// labels (EventID), so every receiver's notification of it is one
	// event.
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Status is firing or resolved, as last notified.
	Status   string    `json:"status"`
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when it resolved (nil while firing).
	EndsAt *time.Time `json:"endsAt,omitempty"`
	// NotifiedAt is when Berth last received it.
	NotifiedAt time.Time `json:"notifiedAt"`
	// Ack is who acknowledged it, when and why (nil: nobody yet).
	Ack             *Ack  `json:"ack,omitempty"`
	ResourceVersion int64 `json:"resourceVersion"`
}

// Ack is a person's acknowledgement of an alert: someone is on it.
type Ack struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason"`
}

// Path is the event's resource path, as audit records name it.
func (e Event) Path() string {
	return "tenants/" + e.Tenant + "/projects/" + e.Project + "/alert-history/" + e.ID
}

// EventID is the ID of the alert with labels that started at start: the
// start in UTC to the millisecond (so IDs sort by start) and 16 hex
// digits of the SHA-256 of the labels, sorted.
func EventID(start time.Time, labels map[string]string) string {
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		fmt.Fprintf(h, "%s\x00%s\x00", k, labels[k])
	}
	return start.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// HistoryStore keeps a project's alert history.
type HistoryStore interface {
	CreateAlertEvent(ctx context.Context, e Event) error
	GetAlertEvent(ctx context.Context, tenant, project, id string) (Event, error)
	UpdateAlertEvent(ctx context.Context, e Event, prevRV int64) error
	// ListAlertEvents lists a project's newest events first, at most
	// limit.
	ListAlertEvents(ctx context.Context, tenant, project string, limit int) ([]Event, error)
	// TrimAlertEvents drops a project's oldest events beyond keep.
	TrimAlertEvents(ctx context.Context, tenant, project string, keep int) error
}

// Record writes the alerts of n, a checked notification of tenant's
// project received at now, into the project's history: a new alert is
// added, a known one takes the notification's status and end (its
// acknowledgement stays). The history then keeps the newest MaxHistory.
func Record(ctx context.Context, st HistoryStore, tenant, project string, n Notification, now time.Time) error {
	for _, a := range n.Alerts {
		e := Event{Tenant: tenant, Project: project, ID: EventID(a.StartsAt, a.Labels), Name: a.Labels["alertname"],
			Labels: a.Labels, Annotations: a.Annotations, Status: a.Status, StartsAt: a.StartsAt.UTC(), NotifiedAt: now.UTC()}
		if a.Status == "resolved" && !a.EndsAt.IsZero() {
			end := a.EndsAt.UTC()
			e.EndsAt = &end
		}
		old, err := st.GetAlertEvent(ctx, tenant, project, e.ID)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			e.ResourceVersion = 1
			err = st.CreateAlertEvent(ctx, e)
		case err == nil:
			e.Ack, e.ResourceVersion = old.Ack, old.ResourceVersion+1
			err = st.UpdateAlertEvent(ctx, e, old.ResourceVersion)
		}
		if err != nil {
			return fmt.Errorf("alert history %s: %w", e.ID, err)
		}
	}
	return st.TrimAlertEvents(ctx, tenant, project, MaxHistory)
}

// Acknowledge records that a's user is on alert id of the project, with
// reason (required), audited as alert.acknowledge. An alert is
// acknowledged once: a second acknowledgement is refused naming who.
func (s *Service) Acknowledge(ctx context.Context, st Tx, a audit.Actor, tenant, project, id, reason string) (Event, error) {
	reason = strings.TrimSpace(reason)
	var errs resource.Errors
	switch {
	case reason == "":
		errs.Add("reason", "is required: say what is being done")
	case len(reason) > MaxText:
		errs.Add("reason", "at most %d bytes, got %d", MaxText, len(reason))
	}
	if err := errs.Err(); err != nil {
		return Event{}, err
	}
	e, err := st.GetAlertEvent(ctx, tenant, project, id)
	if err != nil {
		return Event{}, fmt.Errorf("alert %s: %w", id, err)
	}
	if e.Ack != nil {
		return Event{}, resource.Refused("alert %s was acknowledged by %s at %s", id, e.Ack.By, e.Ack.At.Format(time.RFC3339))
	}
	prev := e.ResourceVersion
	e.Ack = &Ack{By: a.User, At: s.clock.Now().UTC(), Reason: reason}
	e.ResourceVersion++
	if err := st.UpdateAlertEvent(ctx, e, prev); err != nil {
		return Event{}, fmt.Errorf("acknowledge alert %s: %w", id, err)
	}
	s.announce(st, tenant, project)
	return e, s.audit(ctx, st, a, tenant, project, e.Path(), "alert.acknowledge",
		fmt.Sprintf("acknowledged alert %s (%s since %s): %q", e.Name, e.Status, e.StartsAt.Format(time.RFC3339), reason))
}
