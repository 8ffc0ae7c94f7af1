package platform

import (
	"context"
	"errors"
	"fmt"
	"time"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/dashboard"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/podlog"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/slo"
	"berth.dev/berth/internal/sso"
	"berth.dev/berth/internal/tenancy"
)

// Options configure New.
type Options struct {
	Clock          clock.Clock    // default: the wall clock
	Sealer         tenancy.Sealer // required: seals cluster kubeconfigs
	Identity       identity.Options
	Providers      []identity.Provider // default: local users only
	AuditRetention time.Duration       // default: audit.DefaultRetention
	// Changes hears of every change a transaction made, once it commits
	// (the controllers' wake-ups, and every audit record appended through
	// Platform.DB); nil for none.
	Changes *change.Bus
	// OrgHeaders name the request headers carrying region, branch and
	// teller (default gray.DefaultHeaders).
	OrgHeaders gray.Headers
	// Namespaces checks environments' namespaces on their clusters
	// (tenancy.Service.SetNamespaceInspector); nil only where there are no
	// clusters to ask (tests of other things).
	Namespaces tenancy.NamespaceInspector
	// SSO are the configured directories and OIDC providers (none: local
	// users only). Directories authenticate through PasswordDirectories.
	SSO []sso.ProviderInfo
	// Directories are the LDAP directories, in the order a login that
	// names none tries them.
	Directories []sso.PasswordDirectory
	// Terminal reaches the clusters for terminal sessions and says where
	// their recordings are written (see terminal.go); zero: no sessions.
	Terminal TerminalOptions
	// Logs reads the clusters' pod logs for log searches (logs.go); nil:
	// no searches.
	Logs podlog.Source
	// AlertChecker checks alert rules as Prometheus loads them
	// (promtool); nil: Validate only. AlertManager is Alertmanager, for
	// silences and the alerts firing now (alerts.go); nil: none.
	AlertChecker alert.Checker
	AlertManager alert.Manager
	// Store renders charts and names the catalogues of the app store
	// (appstore.go); zero: no installs.
	Store StoreOptions
	// SLOQuerier answers the error-budget reads of SLOs from Prometheus
	// (slos.go); nil: no reads.
	SLOQuerier slo.Querier
	// Metrics answers applications' dashboards from Prometheus
	// (dashboards.go); nil: none.
	Metrics dashboard.Querier
}

// Platform is the set of domain services over one database.
type Platform struct {
	DB       Transactor
	Clock    clock.Clock
	Tenancy  *tenancy.Service
	Apps     *apps.Service
	Identity *identity.Service
	Audit    *audit.Service
	Deploy   *deploy.Service
	Gray     *gray.Service
	Release  *release.Service
	// GrayGroups release whole release orders by gray plans.
	GrayGroups *gray.Groups
	Network    *netasset.Service
	// SSO provisions signed-on users and keeps their group bindings.
	SSO *sso.Service
	// Directories are the configured LDAP directories, in order.
	Directories []sso.PasswordDirectory
	// Terminal is what terminal sessions use (Options.Terminal).
	Terminal TerminalOptions
	// Config keeps the config center's items and revisions.
	Config *configcenter.Service
	// Logs reads pod logs for AppLogs (Options.Logs).
	Logs podlog.Source
	// Pipelines keeps pipelines and their runs; PipelineLogs their step
	// logs (nil: none kept, as where no runner runs).
	Pipelines    *pipeline.Service
	PipelineLogs *pipeline.Logs
	// Alerting keeps alert rules and receivers; AlertManager is
	// Alertmanager (Options.AlertManager).
	Alerting     *alert.Service
	AlertManager alert.Manager
	// Store is the app store's renderer and catalogues (Options.Store).
	Store StoreOptions
	// SLOs keeps service level objectives; SLOQuerier reads their error
	// budgets (Options.SLOQuerier).
	SLOs       *slo.Service
	SLOQuerier slo.Querier
	// Metrics answers dashboards (Options.Metrics).
	Metrics dashboard.Querier
}

// New wires the services over db. With o.Changes, p.DB is db announcing
// every audit record its transactions append (change.Audit) after commit;
// callers that append audit records use p.DB, not db.
func New(db Transactor, o Options) (*Platform, error) {
	if o.Sealer == nil {
		return nil, errors.New("platform: a sealer is required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	t := tenancy.NewService(o.Clock, o.Sealer)
	t.SetNamespaceInspector(o.Namespaces)
	if o.OrgHeaders == (gray.Headers{}) {
		o.OrgHeaders = gray.DefaultHeaders
	}
	d := deploy.NewService(o.Clock, t, o.Changes)
	g := gray.NewService(o.Clock, d, o.OrgHeaders, o.Changes)
	d.ExtraDemand = g.Demand
	r := release.NewService(o.Clock, d, o.Changes)
	if o.Changes != nil {
		db = auditFeed{Transactor: db, changes: o.Changes}
	}
	id := identity.NewService(o.Clock, o.Identity, o.Providers...)
	return &Platform{
		DB:           db,
		Clock:        o.Clock,
		Tenancy:      t,
		Apps:         apps.NewService(o.Clock, t),
		Identity:     id,
		Audit:        audit.NewService(o.Clock, o.AuditRetention),
		Deploy:       d,
		Gray:         g,
		Release:      r,
		GrayGroups:   gray.NewGroups(g, r),
		Network:      netasset.NewService(o.Clock, t, o.Changes),
		SSO:          sso.NewService(o.Clock, id, t, o.SSO),
		Directories:  o.Directories,
		Terminal:     o.Terminal,
		Logs:         o.Logs,
		Config:       configcenter.NewService(o.Clock, o.Sealer, o.Changes),
		Pipelines:    pipeline.NewService(o.Clock, o.Sealer, o.Changes),
		Alerting:     alert.NewService(o.Clock, o.Changes, o.AlertChecker, o.Sealer),
		AlertManager: o.AlertManager,
		Store:        o.Store,
		SLOs:         slo.NewService(o.Clock, o.Changes, o.AlertChecker),
		SLOQuerier:   o.SLOQuerier,
		Metrics:      o.Metrics,
	}, nil
}

// Do runs fn in one read-write transaction. If fn fails, the transaction is
// rolled back and a record of ev with Outcome failure (Denied for
// resource.ErrUnauthenticated and resource.ErrForbidden) and the error in its summary is appended in
// a transaction of its own; Do returns fn's error. The records of the
// changes fn made are written by the services inside the transaction.
func (p *Platform) Do(ctx context.Context, a audit.Actor, ev audit.Event, fn func(Tx) error) error {
	err := p.DB.InTx(ctx, fn)
	if err == nil {
		return nil
	}
	ev.Outcome = audit.Failure
	if errors.Is(err, resource.ErrUnauthenticated) || errors.Is(err, resource.ErrForbidden) {
		ev.Outcome = audit.Denied
	}
	ev.Summary = failureSummary(ev.Summary, err)
	actx := context.WithoutCancel(ctx)
	aerr := p.DB.InTx(actx, func(tx Tx) error {
		_, err := audit.Append(actx, tx, p.Clock.Now(), a, ev)
		return err
	})
	if aerr != nil {
		return errors.Join(err, fmt.Errorf("audit the failure: %w", aerr))
	}
	return err
}

// failureSummary describes a failed change. Error messages of the domain
// name resources and numbers, never secret values.
func failureSummary(summary string, err error) string {
	msg := err.Error()
	if len(msg) > 1000 {
		msg = msg[:1000] + "…"
	}
	if summary == "" {
		return "failed: " + msg
	}
	return summary + ": failed: " + msg
}

// Bootstrap prepares an empty platform on first start: it creates the user
// "admin" with adminPassword (or a generated one, returned to be printed
// once) and grants it platform-admin. It does nothing when any user exists.
func (p *Platform) Bootstrap(ctx context.Context, adminPassword string) (generated string, created bool, err error) {
	err = p.DB.InTx(ctx, func(tx Tx) error {
		generated, created, err = p.Identity.EnsureAdmin(ctx, tx, adminPassword)
		if err != nil || !created {
			return err
		}
		_, err = p.Tenancy.AddMember(ctx, tx, audit.System, tenancy.Member{User: identity.AdminUser, Role: tenancy.PlatformAdmin})
		return err
	})
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	return generated, created, nil
}

// Maintenance is what Maintain removed.
type Maintenance struct {
	AuditPruned     int64
	SessionsExpired int64
}

// Maintain prunes audit records older than the retention period (keeping
// the chain verifiable, with an "audit.prune" record) and expired
// sessions. Run it periodically, e.g. hourly.
func (p *Platform) Maintain(ctx context.Context) (Maintenance, error) {
	var m Maintenance
	err := p.DB.InTx(ctx, func(tx Tx) (err error) {
		if m.AuditPruned, err = p.Audit.Prune(ctx, tx, audit.System); err != nil {
			return err
		}
		m.SessionsExpired, err = p.Identity.PruneSessions(ctx, tx)
		return err
	})
	if err != nil {
		return Maintenance{}, fmt.Errorf("maintain: %w", err)
	}
	return m, nil
}
