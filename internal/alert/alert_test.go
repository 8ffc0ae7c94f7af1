package alert_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/resource"
)

func rule(mod func(*alert.Rule)) alert.Rule {
	r := alert.Rule{Tenant: "bank", Project: "pay", Name: "red-auth-errors", Environment: "prod", Application: "red-auth",
		Template: alert.ErrorRate, Threshold: "5%", For: "1m", Severity: alert.Critical}
	if mod != nil {
		mod(&r)
	}
	return r
}

// fields returns the paths of err's field errors.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error, got %v", err)
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Path)
	}
	return out
}

func TestRuleValidationNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*alert.Rule)
		want []string
	}{
		{"an error rate without its percent sign", func(r *alert.Rule) { r.Threshold = "5" }, []string{"threshold"}},
		{"a latency without its unit", func(r *alert.Rule) { r.Template, r.Threshold = alert.LatencyP99, "300" }, []string{"threshold"}},
		{"a restart count that is a duration", func(r *alert.Rule) { r.Template, r.Threshold = alert.Restarts, "5m" }, []string{"threshold"}},
		{"an unknown template", func(r *alert.Rule) { r.Template = "cpu" }, []string{"template"}},
		{"a template without an application", func(r *alert.Rule) { r.Application = "" }, []string{"application"}},
		{"neither template nor expr", func(r *alert.Rule) { r.Template, r.Threshold = "", "" }, []string{"template"}},
		{"both template and expr", func(r *alert.Rule) { r.Expr = "up == 0" }, []string{"expr"}},
		{"a custom rule with a threshold", func(r *alert.Rule) { r.Template, r.Expr = "", "up == 0" }, []string{"threshold"}},
		{"a bad for", func(r *alert.Rule) { r.For = "a while" }, []string{"for"}},
		{"a zero window", func(r *alert.Rule) { r.Window = "0s" }, []string{"window"}},
		{"an unknown severity", func(r *alert.Rule) { r.Severity = "page" }, []string{"severity"}},
		{"a label Berth sets itself", func(r *alert.Rule) { r.Labels = map[string]string{"tenant": "other"} }, []string{"labels.tenant"}},
		{"a label name PromQL refuses", func(r *alert.Rule) { r.Labels = map[string]string{"team-name": "x"} }, []string{"labels.team-name"}},
		{"a bad rule name", func(r *alert.Rule) { r.Name = "Red Auth" }, []string{"name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := fields(t, rule(tt.mod).Validate())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
	for _, tpl := range [][2]string{{alert.ErrorRate, "0.5%"}, {alert.LatencyP99, "300ms"}, {alert.Restarts, "3"}, {alert.NotReady, "0"}} {
		if err := rule(func(r *alert.Rule) { r.Template, r.Threshold = tpl[0], tpl[1] }).Validate(); err != nil {
			t.Errorf("%s above %s: %v", tpl[0], tpl[1], err)
		}
	}
}

func TestTemplatesRenderTheirQueries(t *testing.T) {
	t.Parallel()
	place := alert.Place{Cluster: "local", Namespace: "bank-pay-prod"}
	tests := []struct {
		template, threshold, window string
		want                        string
	}{
		{alert.ErrorRate, "5%", "",
			`(sum(rate(berth_gateway_requests_total{route=~"local/bank-pay-prod/red-auth#[0-9]+",code=~"5.."}[300s])) or vector(0)) / ` +
				`sum(rate(berth_gateway_requests_total{route=~"local/bank-pay-prod/red-auth#[0-9]+"}[300s])) > 0.05`},
		{alert.LatencyP99, "250ms", "1m",
			`histogram_quantile(0.99, sum by (le) (rate(berth_gateway_request_duration_seconds_bucket{route=~"local/bank-pay-prod/red-auth#[0-9]+"}[60s]))) > 0.25`},
		{alert.Restarts, "3", "10m",
			`sum(delta(berth_app_container_restarts{tenant="bank",project="pay",environment="prod",app="red-auth"}[600s])) > 3`},
		{alert.NotReady, "0", "",
			`sum(berth_app_pods{tenant="bank",project="pay",environment="prod",app="red-auth",phase!="Succeeded"}) - ` +
				`sum(berth_app_pods_ready{tenant="bank",project="pay",environment="prod",app="red-auth"}) > 0`},
	}
	for _, tt := range tests {
		r := rule(func(r *alert.Rule) { r.Template, r.Threshold, r.Window = tt.template, tt.threshold, tt.window })
		if got := r.Query(place); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.template, got, tt.want)
		}
	}
}

func TestRuleFileCarriesTheRoutingLabels(t *testing.T) {
	t.Parallel()
	r := rule(func(r *alert.Rule) { r.Labels = map[string]string{"team": "cards"} })
	file, err := alert.RuleFile("bank/pay", []alert.Rule{r}, nil, map[string]alert.Place{"prod": {Cluster: "local", Namespace: "ns"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name: bank/pay", "alert: red-auth-errors", "for: 60s", "app: red-auth", "environment: prod",
		"project: pay", "rule: red-auth-errors", "severity: critical", "team: cards", "tenant: bank"} {
		if !strings.Contains(string(file), want) {
			t.Errorf("rule file lacks %q:\n%s", want, file)
		}
	}
}

func TestAlertmanagerConfigRoutesEachProjectToItsReceivers(t *testing.T) {
	t.Parallel()
	rs := []alert.Receiver{
		{Tenant: "bank", Project: "pay", Name: "ops", Kind: alert.WeCom, URL: "https://qyapi.weixin.qq.com/x?key=k", Token: "t1", Severities: []string{"critical"}},
		{Tenant: "shop", Project: "web", Name: "bot", Kind: alert.DingTalk, URL: "https://oapi.dingtalk.com/robot/send?access_token=a", Token: "t2"},
	}
	cfg, err := alert.AlertmanagerConfig(rs, "http://127.0.0.1:8080/api/v1", alert.Timing{GroupWait: time.Second, GroupInterval: 2 * time.Second, RepeatInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`receiver: bank/pay/ops`, `- tenant="bank"`, `- project="pay"`, `- severity=~"critical"`, `continue: true`,
		`url: http://127.0.0.1:8080/api/v1/alert-hooks/bank/pay/ops`, `credentials: t1`,
		`receiver: shop/web/bot`, `url: http://127.0.0.1:8080/api/v1/alert-hooks/shop/web/bot`, `credentials: t2`,
		`group_wait: 1s`, `group_interval: 2s`, `repeat_interval: 60s`, `receiver: berth-none`,
	} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(string(cfg), "qyapi") {
		t.Errorf("the robots' URLs are Berth's to post to, not Alertmanager's:\n%s", cfg)
	}
}

func TestReceiverValidationAndRedaction(t *testing.T) {
	t.Parallel()
	bad := alert.Receiver{Tenant: "bank", Project: "pay", Name: "ops", Kind: "sms", URL: "ftp://x", Severities: []string{"urgent"}}
	if diff := cmp.Diff([]string{"kind", "url", "severities[0]"}, fields(t, bad.Validate())); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	r := alert.Receiver{URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=secret", Token: "tok"}.Redacted()
	if r.Token != "" || strings.Contains(r.URL, "secret") || r.URL != "https://qyapi.weixin.qq.com/…" {
		t.Errorf("redacted receiver shows %q, token %q", r.URL, r.Token)
	}
}

func TestSilencesStayInTheirProject(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := alert.SilenceRequest{Tenant: "bank", Project: "pay", Rule: "red-auth-errors", Duration: time.Hour, Comment: "deploying"}.Silence(now, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Within("bank", "pay") || s.Within("bank", "web") || !s.EndsAt.Equal(now.Add(time.Hour)) {
		t.Errorf("silence %+v", s)
	}
	regex := alert.Silence{Matchers: []alert.Matcher{{Name: "tenant", Value: "bank", IsEqual: true, IsRegex: true}, {Name: "project", Value: "pay", IsEqual: true}}}
	if regex.Within("bank", "pay") {
		t.Error("a silence matching the tenant by regular expression counts as the project's")
	}
	_, err = alert.SilenceRequest{Tenant: "bank", Project: "pay", Duration: 0, Comment: ""}.Silence(now, "ops")
	if diff := cmp.Diff([]string{"duration", "comment"}, fields(t, err)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestNotificationMessage(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n := alert.Notification{Status: "firing", GroupLabels: map[string]string{"alertname": "red-auth-errors", "app": "red-auth", "environment": "prod"},
		Alerts: []alert.HookAlert{
			{Status: "resolved", Labels: map[string]string{"alertname": "red-auth-errors", "tenant": "bank", "project": "pay", "severity": "critical"},
				Annotations: map[string]string{"summary": "old"}, StartsAt: at},
			{Status: "firing", Labels: map[string]string{"alertname": "red-auth-errors", "tenant": "bank", "project": "pay", "severity": "critical"},
				Annotations: map[string]string{"summary": "red-auth in prod: error rate 50% above 5%"}, StartsAt: at},
		}}
	title, text := n.Message()
	if title != "[FIRING:1] red-auth-errors red-auth prod" {
		t.Errorf("title %q", title)
	}
	want := "- **FIRING** red-auth in prod: error rate 50% above 5% (critical, bank/pay) since 2026-01-02T03:04:05Z\n" +
		"- **RESOLVED** old (critical, bank/pay) since 2026-01-02T03:04:05Z\n"
	if text != want {
		t.Errorf("text:\n%s\nwant:\n%s", text, want)
	}
	if err := n.Check("bank", "pay"); err != nil {
		t.Errorf("check: %v", err)
	}
	if diff := cmp.Diff([]string{"alerts[0].labels", "alerts[1].labels"}, fields(t, n.Check("bank", "web"))); diff != "" {
		t.Errorf("another project's alerts (-want +got):\n%s", diff)
	}
}
