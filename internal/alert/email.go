package alert

import (
	"cmp"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/resource"
)

// Email is where an email receiver sends a project's alerts: an SMTP
// server, with STARTTLS unless Plaintext says the server speaks none.
type Email struct {
	Host string `json:"host"`
	// Port defaults to 587 (submission).
	Port int    `json:"port,omitempty"`
	From string `json:"from"`
	// To are the recipients' addresses.
	To []string `json:"to"`
	// Username and Password, when set, sign in (SASL PLAIN, only over
	// TLS). The password is sealed at rest and never shown.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Plaintext allows a server without STARTTLS (and then no sign-in);
	// by default Berth refuses to send an alert in the clear.
	Plaintext bool `json:"plaintext,omitempty"`
	// Language of the subject and body: zh-CN (default) or en.
	Language string `json:"language,omitempty"`
	// SealedPassword is Password sealed (bound to the receiver's path);
	// kept by the store, never read from requests nor shown.
	SealedPassword []byte `json:"sealedPassword,omitempty"`
}

// Bounds of an email receiver.
const (
	MaxRecipients = 20
	// DefaultSMTPPort is the submission port.
	DefaultSMTPPort = 587
)

// SMTPPort is e's port, DefaultSMTPPort when unset.
func (e Email) SMTPPort() int { return cmp.Or(e.Port, DefaultSMTPPort) }

// PasswordAAD binds a receiver's sealed password to the receiver.
func (r Receiver) PasswordAAD() []byte { return []byte(r.Path() + "#password") }

func (e *Email) validate(errs *resource.Errors) {
	if e == nil {
		errs.Add("email", "an email receiver needs its SMTP server: host, from and to")
		return
	}
	if strings.TrimSpace(e.Host) == "" {
		errs.Add("email.host", "name the SMTP server")
	} else if strings.ContainsAny(e.Host, " /:@\r\n") {
		errs.Add("email.host", "must be a host name or IP address alone, got %q", e.Host)
	}
	errs.CheckLen("email.host", e.Host, 253)
	if e.Port < 0 || e.Port > 65535 {
		errs.Add("email.port", "must be between 1 and 65535, got %d", e.Port)
	}
	checkAddress(errs, "email.from", e.From)
	switch {
	case len(e.To) == 0:
		errs.Add("email.to", "give at least one recipient")
	case len(e.To) > MaxRecipients:
		errs.Add("email.to", "at most %d recipients, got %d", MaxRecipients, len(e.To))
	}
	for i, to := range e.To {
		checkAddress(errs, fmt.Sprintf("email.to[%d]", i), to)
	}
	errs.CheckLen("email.username", e.Username, 256)
	errs.CheckLen("email.password", e.Password, 256)
	if e.Password != "" && e.Username == "" {
		errs.Add("email.username", "a password needs the username it signs in with")
	}
	if e.Plaintext && e.Username != "" {
		errs.Add("email.plaintext", "Berth does not send a password in the clear: sign-in needs STARTTLS")
	}
	if e.Language != "" && e.Language != string(i18n.ZhCN) && e.Language != string(i18n.EN) {
		errs.Add("email.language", "must be zh-CN or en, got %q", e.Language)
	}
}

// checkAddress accepts one bare address (no display name, no header
// injection).
func checkAddress(errs *resource.Errors, path, s string) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		errs.Add(path, "must be one email address such as ops@example.com, got %q", s)
	}
}

// mailWords are an email's fixed words per language.
var mailWords = map[string]struct{ firing, resolved, more, since, project, severity, intro string }{
	string(i18n.ZhCN): {firing: "告警", resolved: "已恢复", more: "另有 %d 条告警未列出", since: "开始于", project: "项目", severity: "级别",
		intro: "Berth 告警通知"},
	string(i18n.EN): {firing: "FIRING", resolved: "RESOLVED", more: "and %d more alerts", since: "since", project: "project", severity: "severity",
		intro: "Berth alert notification"},
}

// Mail is the email of n in lang (zh-CN or en; zh-CN when empty): a
// subject and a plain-text body, one paragraph per alert (firing first).
func (n Notification) Mail(lang string) (subject, body string) {
	w, ok := mailWords[lang]
	if !ok {
		w = mailWords[string(i18n.ZhCN)]
	}
	alerts := sortedAlerts(n.Alerts)
	firing := 0
	for _, a := range alerts {
		if a.Status == "firing" {
			firing++
		}
	}
	name, where := n.headline(alerts)
	if firing > 0 {
		subject = fmt.Sprintf("[Berth %s:%d] %s %s", w.firing, firing, name, where)
	} else {
		subject = fmt.Sprintf("[Berth %s] %s %s", w.resolved, name, where)
	}
	var b strings.Builder
	b.WriteString(w.intro + "\n\n")
	for _, a := range alerts {
		status := w.firing
		if a.Status != "firing" {
			status = w.resolved
		}
		fmt.Fprintf(&b, "[%s] %s\n  %s: %s/%s  %s: %s", status, cmp.Or(a.Annotations["summary"], a.Labels["alertname"]),
			w.project, a.Labels["tenant"], a.Labels["project"], w.severity, cmp.Or(a.Labels["severity"], Warning))
		if !a.StartsAt.IsZero() {
			fmt.Fprintf(&b, "  %s %s", w.since, a.StartsAt.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	if n.TruncatedAlerts > 0 {
		fmt.Fprintf(&b, w.more+"\n", n.TruncatedAlerts)
	}
	return strings.TrimSpace(subject), b.String()
}

func sortedAlerts(as []HookAlert) []HookAlert {
	alerts := slices.Clone(as)
	slices.SortStableFunc(alerts, func(a, b HookAlert) int {
		return cmp.Or(cmp.Compare(statusRank(a.Status), statusRank(b.Status)), cmp.Compare(a.Labels["alertname"], b.Labels["alertname"]))
	})
	return alerts
}

// headline is the alert's name and where it fired (app and environment).
func (n Notification) headline(alerts []HookAlert) (name, where string) {
	name = cmp.Or(n.GroupLabels["alertname"], alerts[0].Labels["alertname"])
	where = strings.TrimSpace(cmp.Or(n.GroupLabels["app"], alerts[0].Labels["app"]) + " " + cmp.Or(n.GroupLabels["environment"], alerts[0].Labels["environment"]))
	return name, where
}
