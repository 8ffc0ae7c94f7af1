package prom_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/alert/prom"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/promtest"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

var root = platform.Caller{Actor: audit.Actor{User: "admin"}, Bindings: []authz.Binding{{Role: authz.PlatformAdmin, Scope: authz.Platform}}}

// newPlatform is a platform on SQLite with project bank/pay and its
// environment prod, checking rules with the real promtool and talking to
// am (when not nil).
func newPlatform(t *testing.T, am alert.Manager, changes *change.Bus) *platform.Platform {
	t.Helper()
	ctx := t.Context()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(st, platform.Options{Sealer: sealer, Clock: clock.Real{}, Changes: changes,
		AlertChecker: prom.Promtool{Path: promtest.PromtoolBin}, AlertManager: am})
	if err != nil {
		t.Fatal(err)
	}
	err = p.DB.InTx(ctx, func(tx platform.Tx) error {
		a := audit.System
		if _, err := p.Tenancy.CreateTenant(ctx, tx, a, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateProject(ctx, tx, a, tenancy.Project{Tenant: "bank", Name: "pay"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.RegisterCluster(ctx, tx, a, tenancy.Cluster{Name: "local"}, []byte("apiVersion: v1\nkind: Config\n")); err != nil {
			return err
		}
		_, err := p.Tenancy.CreateEnvironment(ctx, tx, a, tenancy.Environment{Tenant: "bank", Project: "pay", Name: "prod", Cluster: "local", Namespace: "bank-pay-prod"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPromtoolRefusesBadRulesNamingTheField(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, nil, nil)
	tests := []struct {
		name  string
		rule  alert.Rule
		field string
		says  string
	}{
		{"an unclosed parenthesis", alert.Rule{Expr: "sum(rate(berth_gateway_requests_total[5m]) > 1"}, "expr", "unclosed left parenthesis"},
		{"an unknown function", alert.Rule{Expr: "rates(x[5m]) > 1"}, "expr", "unknown function"},
		{"a summary template with an unknown function", alert.Rule{Expr: "vector(1)", Summary: "{{ $value | nosuch }}"}, "summary", "nosuch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rule
			r.Tenant, r.Project, r.Name, r.Environment = "bank", "pay", "bad", "prod"
			_, _, err := p.PutAlertRule(t.Context(), root, r)
			var ve *resource.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Path != tt.field || !strings.Contains(ve.Fields[0].Reason, tt.says) {
				t.Fatalf("PutAlertRule = %v, want a field error of %s saying %q", err, tt.field, tt.says)
			}
			if rules, err := p.AlertRules(t.Context(), root, "bank", "pay"); err != nil || len(rules) != 0 {
				t.Errorf("after a refused rule the project has %d rules (%v), want none", len(rules), err)
			}
		})
	}
	good := alert.Rule{Tenant: "bank", Project: "pay", Name: "good", Environment: "prod", Expr: `sum(up{job="x"}) < 1`, For: "30s"}
	if _, _, err := p.PutAlertRule(t.Context(), root, good); err != nil {
		t.Errorf("a good custom rule: %v", err)
	}
}

// TestPublisherLoadsRulesAndRoutesAndSilencesReachAlertmanager writes a
// project's rules and receivers into a real Prometheus and Alertmanager,
// which load them, and creates, lists and expires a silence through
// Alertmanager's API, confined to the project.
func TestPublisherLoadsRulesAndRoutesAndSilencesReachAlertmanager(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	am := promtest.StartAlertmanager(t)
	pr := promtest.StartPrometheus(t, nil, am)
	manager := &prom.Alertmanager{URL: am.URL}
	changes := change.NewBus()
	p := newPlatform(t, manager, changes)
	pub := prom.NewPublisher(p.DB, prom.Options{RulesDir: pr.RulesDir, PrometheusURL: pr.URL, AlertmanagerConfig: am.Config,
		AlertmanagerURL: am.URL, HookBase: "http://127.0.0.1:1/api/v1"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	pub.Subscribe(changes)

	if _, _, err := p.PutAlertRule(ctx, root, alert.Rule{Tenant: "bank", Project: "pay", Name: "always", Environment: "prod",
		Expr: "vector(1)", Severity: alert.Info}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.PutAlertReceiver(ctx, root, alert.Receiver{Tenant: "bank", Project: "pay", Name: "ops", Kind: alert.WeCom,
		URL: "http://127.0.0.1:1/robot"}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name   string            `json:"name"`
					Labels map[string]string `json:"labels"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	getJSON(t, pr.URL+"/api/v1/rules", &rules)
	if g := rules.Data.Groups; len(g) != 1 || g[0].Name != "bank/pay" || len(g[0].Rules) != 1 || g[0].Rules[0].Name != "always" ||
		g[0].Rules[0].Labels["tenant"] != "bank" || g[0].Rules[0].Labels["severity"] != "info" {
		t.Errorf("Prometheus loaded %+v, want group bank/pay with rule always", g)
	}
	var status struct {
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	getJSON(t, am.URL+"/api/v2/status", &status)
	if !strings.Contains(status.Config.Original, "bank/pay/ops") || !strings.Contains(status.Config.Original, "/alert-hooks/bank/pay/ops") {
		t.Errorf("Alertmanager loaded:\n%s\nwant the receiver bank/pay/ops posting to Berth", status.Config.Original)
	}

	// Deleting the rule empties Prometheus's rules at the next publication.
	if err := p.DeleteAlertRule(ctx, root, "bank", "pay", "always"); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	getJSON(t, pr.URL+"/api/v1/rules", &rules)
	if len(rules.Data.Groups) != 0 {
		t.Errorf("after the rule's deletion Prometheus still has %+v", rules.Data.Groups)
	}

	// A silence is the project's: listed there, not in another project.
	s, err := p.CreateSilence(ctx, root, alert.SilenceRequest{Tenant: "bank", Project: "pay", Rule: "always", Duration: time.Hour, Comment: "maintenance"})
	if err != nil || s.ID == "" {
		t.Fatalf("create silence: %+v: %v", s, err)
	}
	list, err := p.Silences(ctx, root, "bank", "pay")
	if err != nil || len(list) != 1 || list[0].ID != s.ID || list[0].State != "active" || list[0].CreatedBy != "admin" {
		t.Fatalf("silences of bank/pay: %+v: %v", list, err)
	}
	if other, err := p.Silences(ctx, root, "bank", "web"); err != nil || len(other) != 0 {
		t.Errorf("silences of bank/web: %+v: %v", other, err)
	}
	if err := p.ExpireSilence(ctx, root, "bank", "web", s.ID); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("expire bank/pay's silence as bank/web = %v, want ErrNotFound", err)
	}
	if err := p.ExpireSilence(ctx, root, "bank", "pay", s.ID); err != nil {
		t.Fatal(err)
	}
	if list, err = p.Silences(ctx, root, "bank", "pay"); err != nil || len(list) != 1 || list[0].State != "expired" {
		t.Errorf("after expiry: %+v: %v", list, err)
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}
