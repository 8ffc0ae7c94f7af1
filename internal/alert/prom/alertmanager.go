package prom

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/resource"
)

// Alertmanager talks to one Alertmanager through its v2 API with plain
// JSON (ADR 0018: its generated client would bring go-openapi for five
// calls).
type Alertmanager struct {
	// URL is Alertmanager's address, e.g. http://127.0.0.1:9093.
	URL    string
	Client *http.Client // default: 10 s timeout
}

var _ alert.Manager = (*Alertmanager)(nil)

// maxAnswer bounds what Berth reads of one Alertmanager answer.
const maxAnswer = 8 << 20

func (m *Alertmanager) client() *http.Client {
	if m.Client != nil {
		return m.Client
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (m *Alertmanager) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := m.URL + "/api/v2" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.client().Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", alert.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%w: %w", alert.ErrUnavailable, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return resource.ErrNotFound
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("%w: %s %s answered %s: %.200s", alert.ErrUnavailable, method, path, resp.Status, data)
	case out == nil:
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: decode %s: %w", alert.ErrUnavailable, path, err)
	}
	return nil
}

// filters are Alertmanager's filter parameters for label equality.
func filters(scope map[string]string) url.Values {
	q := url.Values{}
	keys := make([]string, 0, len(scope))
	for k := range scope {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Add("filter", k+"="+strconv.Quote(scope[k]))
	}
	return q
}

type amSilence struct {
	ID        string          `json:"id,omitempty"`
	Matchers  []alert.Matcher `json:"matchers"`
	StartsAt  time.Time       `json:"startsAt"`
	EndsAt    time.Time       `json:"endsAt"`
	CreatedBy string          `json:"createdBy"`
	Comment   string          `json:"comment"`
	Status    *struct {
		State string `json:"state"`
	} `json:"status,omitempty"`
}

func (s amSilence) silence() alert.Silence {
	out := alert.Silence{ID: s.ID, Matchers: s.Matchers, StartsAt: s.StartsAt, EndsAt: s.EndsAt, CreatedBy: s.CreatedBy, Comment: s.Comment}
	if s.Status != nil {
		out.State = s.Status.State
	}
	return out
}

// CreateSilence implements alert.Manager.
func (m *Alertmanager) CreateSilence(ctx context.Context, s alert.Silence) (string, error) {
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	err := m.do(ctx, http.MethodPost, "/silences", nil,
		amSilence{Matchers: s.Matchers, StartsAt: s.StartsAt, EndsAt: s.EndsAt, CreatedBy: s.CreatedBy, Comment: s.Comment}, &out)
	return out.SilenceID, err
}

// GetSilence implements alert.Manager.
func (m *Alertmanager) GetSilence(ctx context.Context, id string) (alert.Silence, error) {
	var s amSilence
	if err := m.do(ctx, http.MethodGet, "/silence/"+url.PathEscape(id), nil, nil, &s); err != nil {
		return alert.Silence{}, err
	}
	return s.silence(), nil
}

// Silences implements alert.Manager.
func (m *Alertmanager) Silences(ctx context.Context, scope map[string]string) ([]alert.Silence, error) {
	var ss []amSilence
	if err := m.do(ctx, http.MethodGet, "/silences", filters(scope), nil, &ss); err != nil {
		return nil, err
	}
	out := make([]alert.Silence, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.silence())
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartsAt.After(out[j].StartsAt) })
	return out, nil
}

// ExpireSilence implements alert.Manager.
func (m *Alertmanager) ExpireSilence(ctx context.Context, id string) error {
	return m.do(ctx, http.MethodDelete, "/silence/"+url.PathEscape(id), nil, nil, nil)
}

// Alerts implements alert.Manager.
func (m *Alertmanager) Alerts(ctx context.Context, scope map[string]string) ([]alert.Alert, error) {
	var as []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		Status      struct {
			State      string   `json:"state"`
			SilencedBy []string `json:"silencedBy"`
		} `json:"status"`
	}
	if err := m.do(ctx, http.MethodGet, "/alerts", filters(scope), nil, &as); err != nil {
		return nil, err
	}
	out := make([]alert.Alert, 0, len(as))
	for _, a := range as {
		out = append(out, alert.Alert{Name: a.Labels["alertname"], Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt,
			State: a.Status.State, SilencedBy: a.Status.SilencedBy})
	}
	alert.SortAlerts(out)
	return out, nil
}
