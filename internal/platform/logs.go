package platform

import (
	"context"
	"fmt"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/podlog"
	"berth.dev/berth/internal/resource"
)

// AppLogs searches the logs of k's application in k's environment
// (podlog.Search), sending emit each line. Logs can hold what customers
// typed, so reading them takes log:read at the project, and every search
// is audited ("log.read", with the query) before any log is read.
func (p *Platform) AppLogs(ctx context.Context, c Caller, k deploy.Key, q podlog.Query, emit func(podlog.Line) error) (podlog.Result, error) {
	var t podlog.Target
	target := fmt.Sprintf("tenants/%s/projects/%s/applications/%s/environments/%s", k.Tenant, k.Project, k.Application, k.Environment)
	ev := audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "log.read", Target: target, Summary: describeLogQuery(q)}
	err := p.Do(ctx, c.Actor, ev, func(tx Tx) error {
		if err := c.may(authz.LogRead, scopeOf(k.Tenant, k.Project)); err != nil {
			return err
		}
		if p.Logs == nil {
			return resource.Refused("log search is not configured on this server")
		}
		if _, err := podlog.Check(q); err != nil {
			return err
		}
		if _, err := tx.GetApplication(ctx, k.Tenant, k.Project, k.Application); err != nil {
			return fmt.Errorf("application %s/%s/%s: %w", k.Tenant, k.Project, k.Application, err)
		}
		env, err := tx.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment)
		if err != nil {
			return fmt.Errorf("environment %s/%s/%s: %w", k.Tenant, k.Project, k.Environment, err)
		}
		t = podlog.Target{Cluster: env.Cluster, Namespace: env.Namespace, App: k.Application}
		_, err = audit.Append(ctx, tx, p.Clock.Now(), c.Actor, ev)
		return err
	})
	if err != nil {
		return podlog.Result{}, err
	}
	return podlog.Search(ctx, p.Logs, t, q, emit)
}

// describeLogQuery is the audit summary of a search: what was asked, the
// pattern quoted (it is what the reader looked for).
func describeLogQuery(q podlog.Query) string {
	parts := []string{"search logs"}
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	if q.Version != "" {
		add("version %s", q.Version)
	}
	if q.Pod != "" {
		add("pod %s", q.Pod)
	}
	if !q.Since.IsZero() {
		add("since %s", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		add("until %s", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Tail > 0 {
		add("last %d lines", q.Tail)
	}
	if q.Grep != "" {
		kind := "containing"
		if q.Regexp {
			kind = "matching"
		}
		add("%s %q", kind, truncate(q.Grep, 200))
	}
	if q.Follow {
		add("following")
	}
	return strings.Join(parts, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
