package alert

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"berth.dev/berth/internal/resource"
)

// Notification is what Alertmanager posts to a webhook receiver (its
// version 4 payload), as far as Berth reads it.
type Notification struct {
	Version     string            `json:"version"`
	Receiver    string            `json:"receiver"`
	Status      string            `json:"status"`
	Alerts      []HookAlert       `json:"alerts"`
	GroupLabels map[string]string `json:"groupLabels"`
	// The rest of the payload (commonLabels, externalURL, groupKey …) is
	// read but not used.
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
}

// HookAlert is one alert of a Notification.
type HookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Check refuses a notification that is not for tenant's project: every
// alert must carry its tenant and project labels (Berth's routes only send
// those, so anything else was not routed by Berth's configuration).
func (n Notification) Check(tenant, project string) error {
	var errs resource.Errors
	if len(n.Alerts) == 0 {
		errs.Add("alerts", "no alerts")
	}
	if len(n.Alerts) > MaxHookAlerts {
		errs.Add("alerts", "at most %d alerts, got %d", MaxHookAlerts, len(n.Alerts))
	}
	for i, a := range n.Alerts {
		if a.Labels["tenant"] != tenant || a.Labels["project"] != project {
			errs.Add(fmt.Sprintf("alerts[%d].labels", i), "the alert is not of project %s/%s", tenant, project)
		}
	}
	return errs.Err()
}

// Message is the group-chat message of n: a title and markdown text, one
// line per alert (firing first), as WeCom and DingTalk render it.
func (n Notification) Message() (title, text string) {
	alerts := sortedAlerts(n.Alerts)
	firing := 0
	for _, a := range alerts {
		if a.Status == "firing" {
			firing++
		}
	}
	name, where := n.headline(alerts)
	if firing > 0 {
		title = fmt.Sprintf("[FIRING:%d] %s %s", firing, name, where)
	} else {
		title = fmt.Sprintf("[RESOLVED] %s %s", name, where)
	}
	var b strings.Builder
	for _, a := range alerts {
		sev := cmp.Or(a.Labels["severity"], Warning)
		fmt.Fprintf(&b, "- **%s** %s (%s, %s/%s)", strings.ToUpper(a.Status), cmp.Or(a.Annotations["summary"], a.Labels["alertname"]), sev,
			a.Labels["tenant"], a.Labels["project"])
		if !a.StartsAt.IsZero() {
			fmt.Fprintf(&b, " since %s", a.StartsAt.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	if n.TruncatedAlerts > 0 {
		fmt.Fprintf(&b, "- … and %d more\n", n.TruncatedAlerts)
	}
	return title, b.String()
}

func statusRank(s string) int {
	if s == "firing" {
		return 0
	}
	return 1
}
