package alert

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Place is where a rule's environment runs: the Berth gateway labels an
// application's routes "<cluster>/<namespace>/<app>#<n>".
type Place struct {
	Cluster, Namespace string
}

// DefaultWindow is the range a template looks at when the rule names none.
const DefaultWindow = 5 * time.Minute

// Query is the PromQL expression r fires on, in environment place.
func (r Rule) Query(place Place) string { return r.expr(place) }

func (r Rule) expr(place Place) string {
	if r.Template == "" {
		return r.Expr
	}
	t, _ := threshold(r.Template, r.Threshold) // validated
	th := strconv.FormatFloat(t, 'g', -1, 64)
	w := promDuration(r.Window, DefaultWindow)
	switch r.Template {
	case ErrorRate:
		route := fmt.Sprintf(`route=~"%s#[0-9]+"`, promRegexp(place.Cluster+"/"+place.Namespace+"/"+r.Application))
		return fmt.Sprintf(`(sum(rate(berth_gateway_requests_total{%[1]s,code=~"5.."}[%[2]s])) or vector(0)) / sum(rate(berth_gateway_requests_total{%[1]s}[%[2]s])) > %[3]s`,
			route, w, th)
	case LatencyP99:
		route := fmt.Sprintf(`route=~"%s#[0-9]+"`, promRegexp(place.Cluster+"/"+place.Namespace+"/"+r.Application))
		return fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(berth_gateway_request_duration_seconds_bucket{%s}[%s]))) > %s`, route, w, th)
	case Restarts:
		return fmt.Sprintf(`sum(delta(berth_app_container_restarts{%s}[%s])) > %s`, r.podSelector(), w, th)
	}
	sel := r.podSelector()
	return fmt.Sprintf(`sum(berth_app_pods{%s,phase!="Succeeded"}) - sum(berth_app_pods_ready{%s}) > %s`, sel, sel, th)
}

func (r Rule) podSelector() string {
	return fmt.Sprintf(`tenant=%q,project=%q,environment=%q,app=%q`, r.Tenant, r.Project, r.Environment, r.Application)
}

// promRegexp quotes s as a literal inside a PromQL regular expression in a
// double-quoted string: RE2's escapes, then the string's.
func promRegexp(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(s), `\`, `\\`)
}

// promDuration renders a Go duration as Prometheus seconds ("300s").
func promDuration(s string, def time.Duration) string {
	d := def
	if s != "" {
		if v, err := time.ParseDuration(s); err == nil {
			d = v
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// summary is the alert's line for people.
func (r Rule) summary() string {
	if r.Summary != "" {
		return r.Summary
	}
	where := r.Application + " in " + r.Environment
	switch r.Template {
	case ErrorRate:
		return where + ": error rate {{ $value | humanizePercentage }} above " + r.Threshold
	case LatencyP99:
		return where + ": p99 latency {{ $value | humanizeDuration }} above " + r.Threshold
	case Restarts:
		return where + ": {{ $value }} restarts, more than " + r.Threshold
	case NotReady:
		return where + ": {{ $value }} pods not ready, more than " + r.Threshold
	}
	return r.Name + " fired in " + r.Environment
}

// Labels are the labels the alerts of r carry: the rule's own, then
// Berth's routing labels.
func (r Rule) alertLabels() map[string]string {
	l := map[string]string{}
	for k, v := range r.Labels {
		l[k] = v
	}
	l["tenant"], l["project"], l["environment"], l["rule"] = r.Tenant, r.Project, r.Environment, r.Name
	l["severity"] = cmp.Or(r.Severity, Warning)
	if r.Application != "" {
		l["app"] = r.Application
	}
	return l
}

type ruleFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name  string     `json:"name"`
	Rules []PromRule `json:"rules"`
}

// PromRule is one rule of a Prometheus rule file: an alert or a
// recording rule (Record).
type PromRule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// RuleFile renders rules (all of one project, each placed by places, keyed
// by environment) as one Prometheus rule file with one group,
// "<tenant>/<project>": the rules by name, then more (the project's SLOs,
// internal/slo), in their order. It keeps none of its arguments.
func RuleFile(group string, rules []Rule, more []PromRule, places map[string]Place) ([]byte, error) {
	g := ruleGroup{Name: group, Rules: []PromRule{}}
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b Rule) int { return cmp.Compare(a.Name, b.Name) })
	for _, r := range rules {
		pr := PromRule{Alert: r.Name, Expr: r.expr(places[r.Environment]), Labels: r.alertLabels(),
			Annotations: map[string]string{"summary": r.summary()}}
		if r.For != "" {
			pr.For = promDuration(r.For, 0)
		}
		g.Rules = append(g.Rules, pr)
	}
	g.Rules = append(g.Rules, more...)
	return yaml.Marshal(ruleFile{Groups: []ruleGroup{g}})
}

// Timing is how Alertmanager groups and repeats notifications.
type Timing struct {
	GroupWait, GroupInterval, RepeatInterval time.Duration
}

// DefaultTiming is Alertmanager's own defaults.
var DefaultTiming = Timing{GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour}

// HookPath is the path, under the API's prefix, Alertmanager posts a
// receiver's notifications to.
func HookPath(tenant, project, receiver string) string {
	return "/alert-hooks/" + tenant + "/" + project + "/" + receiver
}

// None is the receiver of alerts no project's receiver takes.
const None = "berth-none"

type amConfig struct {
	Route     amRoute      `json:"route"`
	Receivers []amReceiver `json:"receivers"`
}

type amRoute struct {
	Receiver       string    `json:"receiver"`
	GroupBy        []string  `json:"group_by,omitempty"`
	GroupWait      string    `json:"group_wait,omitempty"`
	GroupInterval  string    `json:"group_interval,omitempty"`
	RepeatInterval string    `json:"repeat_interval,omitempty"`
	Matchers       []string  `json:"matchers,omitempty"`
	Continue       bool      `json:"continue,omitempty"`
	Routes         []amRoute `json:"routes,omitempty"`
}

type amReceiver struct {
	Name     string      `json:"name"`
	Webhooks []amWebhook `json:"webhook_configs,omitempty"`
}

type amWebhook struct {
	URL          string       `json:"url"`
	SendResolved bool         `json:"send_resolved"`
	MaxAlerts    int          `json:"max_alerts"`
	HTTPConfig   amHTTPConfig `json:"http_config"`
}

type amHTTPConfig struct {
	Authorization amAuthorization `json:"authorization"`
}

type amAuthorization struct {
	Type        string `json:"type"`
	Credentials string `json:"credentials"`
}

// amName is the name of r in Alertmanager's configuration.
func (r Receiver) amName() string { return r.Tenant + "/" + r.Project + "/" + r.Name }

// AlertmanagerConfig renders the routing of every project's alerts to its
// receivers: a route per receiver matching its tenant and project (and
// severities), each posting to Berth at hookBase+HookPath with the
// receiver's token. The result holds the tokens: write it 0600. It keeps
// none of its arguments.
func AlertmanagerConfig(receivers []Receiver, hookBase string, t Timing) ([]byte, error) {
	receivers = slices.Clone(receivers)
	slices.SortFunc(receivers, func(a, b Receiver) int { return cmp.Compare(a.amName(), b.amName()) })
	root := amRoute{Receiver: None, GroupBy: []string{"alertname", "tenant", "project", "environment", "app"},
		GroupWait: promDuration(t.GroupWait.String(), 0), GroupInterval: promDuration(t.GroupInterval.String(), 0),
		RepeatInterval: promDuration(t.RepeatInterval.String(), 0)}
	cfg := amConfig{Receivers: []amReceiver{{Name: None}}}
	for _, r := range receivers {
		ms := []string{fmt.Sprintf("tenant=%q", r.Tenant), fmt.Sprintf("project=%q", r.Project)}
		if len(r.Severities) > 0 {
			ms = append(ms, fmt.Sprintf("severity=~%q", strings.Join(r.Severities, "|")))
		}
		root.Routes = append(root.Routes, amRoute{Receiver: r.amName(), Matchers: ms, Continue: true})
		cfg.Receivers = append(cfg.Receivers, amReceiver{Name: r.amName(), Webhooks: []amWebhook{{
			URL: strings.TrimSuffix(hookBase, "/") + HookPath(r.Tenant, r.Project, r.Name), SendResolved: true, MaxAlerts: MaxHookAlerts,
			HTTPConfig: amHTTPConfig{Authorization: amAuthorization{Type: "Bearer", Credentials: r.Token}}}}})
	}
	cfg.Route = root
	return yaml.Marshal(cfg)
}
