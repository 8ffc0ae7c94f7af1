// Package deploy holds deployments (F5, F10): which version of an
// application runs in which environment, shaped by operators (scale, stop,
// start, restart), and what the controller last applied of it.
//
// A Deployment is desired state. Every change bumps its Generation and is
// written, with its audit record, in the caller's transaction before the
// controller acts on it, so a crash at any point resumes: the controller
// compares Generation with AppliedGeneration and applies again. Deleting
// marks the deployment; the controller removes the cluster objects, then the
// record.
package deploy

import (
	"context"
	"encoding/json"
	"time"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/resource"
)

// Deployment is an application's desired state in one environment.
type Deployment struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	Application string `json:"application"`
	Environment string `json:"environment"`
	// Version names the application version that runs.
	Version string `json:"version"`
	// Replicas overrides the version's replica count; nil keeps it.
	Replicas *int32 `json:"replicas,omitempty"`
	// Stopped scales to zero; Replicas is kept for the start that follows.
	Stopped bool `json:"stopped,omitempty"`
	// RestartedAt, when set, rolls every pod once per new value.
	RestartedAt *time.Time `json:"restartedAt,omitempty"`
	// Deleting is set by Delete; the controller removes the objects and
	// then the record.
	Deleting bool `json:"deleting,omitempty"`
	// DeleteCRDs, with Deleting, has the controller delete the
	// CustomResourceDefinitions of an app-store install's chart too
	// (DeleteInstall); they are kept otherwise.
	DeleteCRDs bool `json:"deleteCRDs,omitempty"`
	// Generation counts changes to the desired state.
	Generation int64   `json:"generation"`
	Applied    Applied `json:"applied"`

	ResourceVersion int64     `json:"resourceVersion"`
	CreatedBy       string    `json:"createdBy"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Applied is what the controller last did for a deployment.
type Applied struct {
	// Generation is the desired generation last applied without error;
	// Version the version it ran (empty in records made before Berth
	// recorded it).
	Generation int64  `json:"generation"`
	Version    string `json:"version,omitempty"`
	// Inventory is the kube.Inventory of the objects applied, as JSON, so
	// the next apply can prune what is no longer rendered.
	Inventory json.RawMessage `json:"inventory,omitempty"`
	// Error is why the last attempt failed; empty on success.
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at,omitzero"`
	// Conditions say the same for programs: Ready, True once the
	// generation it observed is applied, or False with the reason of the
	// step that failed (docs/api.md lists them).
	Conditions []resource.Condition `json:"conditions,omitempty"`
}

// ReasonHookFailed is the reason of the Ready condition of a generation
// whose chart hook failed (an app-store install's): the controller stops
// there, and a release order deploying it fails its item.
const ReasonHookFailed = "HookFailed"

// Key names a deployment.
type Key struct {
	Tenant, Project, Application, Environment string
}

// Key returns d's key.
func (d Deployment) Key() Key {
	return Key{d.Tenant, d.Project, d.Application, d.Environment}
}

// Change names k in a change of kind.
func (k Key) Change(kind change.Kind) change.Changed {
	return change.Changed{Kind: kind, Key: change.Key{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Name: k.Application}}
}

// KeyOf is the deployment a change names.
func KeyOf(c change.Changed) Key {
	return Key{Tenant: c.Key.Tenant, Project: c.Key.Project, Application: c.Key.Name, Environment: c.Key.Environment}
}

// Path is the deployment's resource path, used as the audit target.
func (k Key) Path() string {
	return "tenants/" + k.Tenant + "/projects/" + k.Project + "/applications/" + k.Application +
		"/environments/" + k.Environment
}

// Store is what deploy needs from persistence, bound to one transaction:
// apps' store (versions, environments, quota reservations, audit) and the
// deployments themselves.
type Store interface {
	apps.Store

	CreateDeployment(ctx context.Context, d Deployment) error
	GetDeployment(ctx context.Context, k Key) (Deployment, error)
	// UpdateDeployment replaces d if its stored ResourceVersion is prevRV,
	// else fails with resource.ErrConflict.
	UpdateDeployment(ctx context.Context, d Deployment, prevRV int64) error
	DeleteDeployment(ctx context.Context, k Key) error
	// ListDeployments lists the deployments of a project (environment and
	// application filters optional), ordered by application then environment.
	ListDeployments(ctx context.Context, f Filter, after string, limit int) ([]Deployment, error)
	// PendingDeployments lists every deployment whose Generation is ahead of
	// its Applied.Generation or that is Deleting: the controller's work.
	PendingDeployments(ctx context.Context) ([]Deployment, error)
	// AfterCommit runs f once the transaction has committed, never if it
	// rolls back.
	AfterCommit(f func())
}

// Filter narrows a deployment list.
type Filter struct {
	Tenant      string
	Project     string
	Environment string // optional
	Application string // optional
}
