package alert

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"berth.dev/berth/internal/resource"
)

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// reserved are the labels Berth sets on every alert (routing and silences
// depend on them), so a rule may not set them itself.
var reserved = []string{"alertname", "tenant", "project", "environment", "app", "rule", "severity"}

// Validate checks r's own fields, every bad one named by its JSON path
// (threshold, expr, labels.x …). Whether Prometheus accepts the rendered
// expression is the Checker's part.
func (r Rule) Validate() error {
	var errs resource.Errors
	errs.CheckName("tenant", r.Tenant)
	errs.CheckName("project", r.Project)
	errs.CheckName("name", r.Name)
	errs.CheckName("environment", r.Environment)
	if r.Application != "" {
		errs.CheckName("application", r.Application)
	}
	switch {
	case r.Template == "" && strings.TrimSpace(r.Expr) == "":
		errs.Add("template", "give a template (%s) or a custom expr", strings.Join(Templates(), ", "))
	case r.Template != "" && r.Expr != "":
		errs.Add("expr", "a rule has a template or a custom expr, not both")
	case r.Template != "":
		r.checkTemplate(&errs)
	default:
		errs.CheckLen("expr", r.Expr, MaxExpr)
		if r.Threshold != "" {
			errs.Add("threshold", "a custom rule states its threshold in its expr")
		}
	}
	if r.Window != "" {
		checkDuration(&errs, "window", r.Window, true)
	}
	if r.For != "" {
		checkDuration(&errs, "for", r.For, false)
	}
	if r.Severity != "" && !slices.Contains([]string{Critical, Warning, Info}, r.Severity) {
		errs.Add("severity", "must be critical, warning or info, got %q", r.Severity)
	}
	checkLabels(&errs, r.Labels)
	errs.CheckLen("summary", r.Summary, MaxText)
	return errs.Err()
}

func (r Rule) checkTemplate(errs *resource.Errors) {
	if !slices.Contains(Templates(), r.Template) {
		errs.Add("template", "must be one of %s, got %q", strings.Join(Templates(), ", "), r.Template)
		return
	}
	if r.Application == "" {
		errs.Add("application", "the %s template watches one application: name it", r.Template)
	}
	if r.Threshold == "" {
		errs.Add("threshold", "the %s template needs a threshold (%s)", r.Template, thresholdForm(r.Template))
		return
	}
	if _, err := threshold(r.Template, r.Threshold); err != nil {
		errs.Add("threshold", "%v", err)
	}
}

func thresholdForm(template string) string {
	switch template {
	case ErrorRate:
		return `a percentage such as "5%"`
	case LatencyP99:
		return `a duration such as "300ms"`
	}
	return `a count such as "3"`
}

// threshold is t's number in the expression's unit: a fraction for error
// rates, seconds for latency, a count otherwise.
func threshold(template, t string) (float64, error) {
	switch template {
	case ErrorRate:
		num, ok := strings.CutSuffix(strings.TrimSpace(t), "%")
		if !ok {
			return 0, fmt.Errorf("must be a percentage with its unit, such as \"5%%\", got %q", t)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || v < 0 || v > 100 {
			return 0, fmt.Errorf("must be a percentage between 0%% and 100%%, got %q", t)
		}
		return v / 100, nil
	case LatencyP99:
		d, err := time.ParseDuration(strings.TrimSpace(t))
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("must be a duration with its unit, such as \"300ms\" or \"1.5s\", got %q", t)
		}
		return d.Seconds(), nil
	}
	n, err := strconv.ParseUint(strings.TrimSpace(t), 10, 31)
	if err != nil {
		return 0, fmt.Errorf("must be a whole number of %s, such as \"3\", got %q", unitOf(template), t)
	}
	return float64(n), nil
}

func unitOf(template string) string {
	if template == Restarts {
		return "restarts"
	}
	return "pods"
}

func checkDuration(errs *resource.Errors, path, s string, positive bool) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		errs.Add(path, "must be a duration such as \"5m\" or \"30s\", got %q", s)
	case d < 0 || (positive && d == 0):
		errs.Add(path, "must be positive, got %q", s)
	case d%time.Second != 0:
		errs.Add(path, "must be whole seconds, got %q", s)
	case d > 24*time.Hour:
		errs.Add(path, "must be at most 24h, got %q", s)
	}
}

func checkLabels(errs *resource.Errors, labels map[string]string) {
	if len(labels) > MaxLabels {
		errs.Add("labels", "at most %d labels, got %d", MaxLabels, len(labels))
	}
	for k, v := range labels {
		path := "labels." + k
		switch {
		case !labelName.MatchString(k) || strings.HasPrefix(k, "__"):
			errs.Add(path, "label names are letters, digits and '_', not starting with a digit or \"__\"")
		case slices.Contains(reserved, k):
			errs.Add(path, "Berth sets %s on every alert itself", k)
		}
		errs.CheckLen(path, v, MaxText)
	}
}

// Validate checks r's own fields, every bad one named.
func (r Receiver) Validate() error {
	var errs resource.Errors
	errs.CheckName("tenant", r.Tenant)
	errs.CheckName("project", r.Project)
	errs.CheckName("name", r.Name)
	if r.Kind == EmailKind {
		if r.URL != "" {
			errs.Add("url", "an email receiver has no URL: give email.host, email.from and email.to")
		}
		r.Email.validate(&errs)
	} else {
		if !slices.Contains([]string{WeCom, DingTalk, Webhook}, r.Kind) {
			errs.Add("kind", "must be wecom, dingtalk, webhook or email, got %q", r.Kind)
		}
		errs.CheckLen("url", r.URL, MaxText)
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.Add("url", "must be an http(s) URL")
		}
		if r.Email != nil {
			errs.Add("email", "only an email receiver has an SMTP server")
		}
	}
	for i, s := range r.Severities {
		if !slices.Contains([]string{Critical, Warning, Info}, s) {
			errs.Add(fmt.Sprintf("severities[%d]", i), "must be critical, warning or info, got %q", s)
		}
	}
	return errs.Err()
}

// redactURL keeps the scheme and host of u and hides the rest.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "…"
	}
	if p.Path == "" && p.RawQuery == "" {
		return p.Scheme + "://" + p.Host
	}
	return p.Scheme + "://" + p.Host + "/…"
}

// SilenceRequest asks to silence a project's alerts: all of them, or those
// of an environment, an application or a rule.
type SilenceRequest struct {
	Tenant      string        `json:"-"`
	Project     string        `json:"-"`
	Environment string        `json:"environment,omitempty"`
	Application string        `json:"application,omitempty"`
	Rule        string        `json:"rule,omitempty"`
	Duration    time.Duration `json:"-"`
	Comment     string        `json:"comment"`
}

// Silence returns the silence q asks for, from now, by createdBy. Its
// matchers always include the project's tenant and project, so a silence
// never mutes another project's alerts.
func (q SilenceRequest) Silence(now time.Time, createdBy string) (Silence, error) {
	var errs resource.Errors
	for _, f := range []struct{ path, v string }{{"environment", q.Environment}, {"application", q.Application}, {"rule", q.Rule}} {
		if f.v != "" {
			errs.CheckName(f.path, f.v)
		}
	}
	switch {
	case q.Duration <= 0:
		errs.Add("duration", "must be positive, such as \"2h\"")
	case q.Duration > MaxSilence:
		errs.Add("duration", "must be at most %s", MaxSilence)
	}
	if strings.TrimSpace(q.Comment) == "" {
		errs.Add("comment", "say why the alerts are silenced")
	}
	errs.CheckLen("comment", q.Comment, MaxText)
	if err := errs.Err(); err != nil {
		return Silence{}, err
	}
	eq := func(n, v string) Matcher { return Matcher{Name: n, Value: v, IsEqual: true} }
	ms := []Matcher{eq("tenant", q.Tenant), eq("project", q.Project)}
	for _, f := range []struct{ n, v string }{{"environment", q.Environment}, {"app", q.Application}, {"rule", q.Rule}} {
		if f.v != "" {
			ms = append(ms, eq(f.n, f.v))
		}
	}
	return Silence{Matchers: ms, StartsAt: now, EndsAt: now.Add(q.Duration), CreatedBy: createdBy, Comment: q.Comment}, nil
}

// Within reports whether s mutes only alerts of tenant's project: it
// requires both labels to equal them.
func (s Silence) Within(tenant, project string) bool {
	var t, p bool
	for _, m := range s.Matchers {
		if !m.IsEqual || m.IsRegex {
			continue
		}
		t = t || (m.Name == "tenant" && m.Value == tenant)
		p = p || (m.Name == "project" && m.Value == project)
	}
	return t && p
}
