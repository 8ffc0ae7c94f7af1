// Package gray holds gray plans (F7): a release manager's plan to run a new
// (gray) version of an application beside its stable one in an environment
// and to widen, step by step, the part of the bank's traffic that reaches it
// — chosen tellers, then branches, then regions (by organisation header
// values), each step optionally adding a percentage of the rest — or to
// switch all at once (blue-green). A plan ends by promotion (gray becomes
// the deployment's version; the old one may be kept running for a while for
// an instant switch back) or by abort (everything back to the old stable).
//
// A plan compiles to the rule language of internal/traffic (Rules) and to a
// traffic.Route that every traffic provider realises. Every change is
// written with its audit record in the caller's transaction and announced
// after commit. docs/gray-release.md is the reference.
package gray

import (
	"context"
	"encoding/json"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
)

// Strategy is how a plan sends traffic to gray.
type Strategy string

// Strategies.
const (
	// Canary widens by cohorts (tellers, branches, regions) and weights.
	Canary Strategy = "canary"
	// BlueGreen switches all traffic to one side at once.
	BlueGreen Strategy = "blue-green"
)

// Phase is where a plan is in its life.
type Phase string

// Phases. Running and Promoted are active: the gray (or, once promoted, the
// old) version runs beside the stable one. Ended and Aborted are final.
const (
	Running  Phase = "Running"
	Promoted Phase = "Promoted"
	Ended    Phase = "Ended"
	Aborted  Phase = "Aborted"
)

// Active reports whether p still runs a second version.
func (p Phase) Active() bool { return p == Running || p == Promoted }

// Step is one widening of a canary plan: the cohort it adds to the steps
// before it, and the percentage of the remaining traffic sent to gray while
// it is the current step. Steps are cumulative: at step N every cohort of
// steps 0..N reaches gray.
type Step struct {
	// Regions, Branches and Tellers are organisation codes, matched exactly
	// against the platform's region, branch and teller headers.
	Regions  []string `json:"regions,omitempty"`
	Branches []string `json:"branches,omitempty"`
	Tellers  []string `json:"tellers,omitempty"`
	// Weight is the percentage (0-100) of requests outside every cohort
	// sent to gray at this step.
	Weight int `json:"weight,omitempty"`
	// Checks are metric checks (internal/analysis) run while this is the
	// current step, from the moment gray serves: a failed check aborts
	// the plan.
	Checks []analysis.Check `json:"checks,omitempty"`
}

// StepAnalysis is the run of one step's checks: the evidence.
type StepAnalysis struct {
	// Step is the step whose checks ran.
	Step int `json:"step"`
	analysis.Run
}

// Plan is one gray release of an application in an environment. There is
// at most one plan per application and environment; starting a new one
// replaces a finished one (its history stays in the audit trail).
type Plan struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Application string `json:"application"`
	Environment string `json:"environment"`
	// Group is the release order whose items this plan releases together
	// with the plans of the order's other items (Groups); "" for a plan of
	// its own. A group's plans change only together.
	Group string `json:"group,omitempty"`

	Strategy Strategy `json:"strategy"`
	// StableVersion is the version that was serving when the plan started.
	StableVersion string `json:"stableVersion"`
	// GrayVersion is the version under release.
	GrayVersion string `json:"grayVersion"`
	// GrayReplicas sizes the gray Deployment; nil takes the version's count.
	GrayReplicas *int32 `json:"grayReplicas,omitempty"`
	// Steps are the canary's cohorts; Step indexes the current one.
	Steps []Step `json:"steps,omitempty"`
	Step  int    `json:"step"`
	// Side is where a blue-green plan sends everything: "stable" or "gray".
	Side string `json:"side,omitempty"`

	Phase Phase `json:"phase"`
	// KeepOldUntil is when a promoted plan stops keeping the old version.
	KeepOldUntil *time.Time `json:"keepOldUntil,omitempty"`
	// Reason is the abort's explanation, if one was given.
	Reason string `json:"reason,omitempty"`
	// Analysis is the run of the current (or, once the plan ended, the
	// last) step's checks.
	Analysis *StepAnalysis `json:"analysis,omitempty"`

	// Generation counts changes; Applied is the controller's last apply.
	Generation int64   `json:"generation"`
	Applied    Applied `json:"applied"`

	ResourceVersion int64     `json:"resourceVersion"`
	CreatedBy       string    `json:"createdBy"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Applied is what the controller last did for a plan.
type Applied struct {
	Generation int64           `json:"generation"`
	Inventory  json.RawMessage `json:"inventory,omitempty"`
	Error      string          `json:"error,omitempty"`
	At         time.Time       `json:"at,omitzero"`
	// Serving lists the versions whose per-version Service had ready
	// endpoints at the last apply. Routes use a per-version Service only
	// once it serves, so no request is sent where no pod answers.
	Serving []string `json:"serving,omitempty"`
	// Conditions say what Error says for programs: Ready, True once the
	// generation it observed is applied, or False with the reason of the
	// step that failed (docs/api.md lists them).
	Conditions []resource.Condition `json:"conditions,omitempty"`
}

// Key returns the plan's key: the deployment it acts on.
func (p Plan) Key() deploy.Key {
	return deploy.Key{Tenant: p.Tenant, Project: p.Project, Application: p.Application, Environment: p.Environment}
}

// Path is the plan's resource path, the audit target.
func Path(k deploy.Key) string {
	return "tenants/" + k.Tenant + "/projects/" + k.Project + "/environments/" + k.Environment + "/grayplans/" + k.Application
}

// CurrentStable is the version serving as stable in the plan's phase: the
// old one until promotion, the gray one after (and the old one again after
// an abort).
func (p Plan) CurrentStable() string {
	if p.Phase == Promoted || p.Phase == Ended {
		return p.GrayVersion
	}
	return p.StableVersion
}

// Other is the second version the plan runs beside CurrentStable, or "" when
// it runs none: gray while Running, the old version while Promoted.
func (p Plan) Other() string {
	switch p.Phase {
	case Running:
		return p.GrayVersion
	case Promoted:
		return p.StableVersion
	}
	return ""
}

// Store is what gray needs from persistence, bound to one transaction.
type Store interface {
	deploy.Store

	CreatePlan(ctx context.Context, p Plan) error
	GetPlan(ctx context.Context, k deploy.Key) (Plan, error)
	// UpdatePlan replaces p if its stored ResourceVersion is prevRV, else
	// fails with resource.ErrConflict.
	UpdatePlan(ctx context.Context, p Plan, prevRV int64) error
	DeletePlan(ctx context.Context, k deploy.Key) error
	// ListPlans lists plans by tenant, project and environment (each
	// optional; empty lists all), ordered by key.
	ListPlans(ctx context.Context, f deploy.Filter) ([]Plan, error)

	// ReplaceOrgUnits makes units the tenant's whole org directory.
	ReplaceOrgUnits(ctx context.Context, tenant string, units []OrgUnit) error
	// ListOrgUnits lists a tenant's directory ordered by kind then code.
	ListOrgUnits(ctx context.Context, tenant string) ([]OrgUnit, error)
}
