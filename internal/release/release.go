// Package release holds release orders (F6): many applications of one
// environment released together as one transaction that rolls itself back
// on a system fault.
//
// An Order names its items (application → target version) and the
// dependencies between them, which form a DAG: an item starts when every
// item it depends on has succeeded, and items without pending dependencies
// run in parallel up to the order's Parallelism. The order is desired state
// in the database, like a deployment (ADR 0006): every step the engine
// takes (start an item, record a fault, issue a rollback) is written with
// its audit record in one transaction together with the deployment change
// it makes, before the deployment controller acts on it. A crash at any
// moment therefore resumes from the recorded state, and no item is applied
// twice inconsistently.
//
// On a system fault, read from the cluster (crash loop, image pull
// failure, a container not ready within the item's deadline, the rollout's
// progress deadline, the cluster unreachable beyond a limit) the whole order
// rolls back: pending items are cancelled and every started item is returned
// to exactly what ran before the order (version, replica count, stopped, or
// not deployed at all), in reverse dependency order.
package release

import (
	"context"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/resource"
)

// State is where an order is in its life.
type State string

// Order states. Draft → PendingApproval → Approved → Running → Succeeded, or
// Running → Failed → RollingBack → RolledBack; Aborted before it starts.
// An approved order may instead be released by gray plans (Gray): Approved →
// Graying → Succeeded (promoted) or Aborted, and a promoted group switched
// back within its keep-old time ends RolledBack.
const (
	Draft           State = "Draft"
	PendingApproval State = "PendingApproval"
	Approved        State = "Approved"
	Running         State = "Running"
	// Graying: one gray plan per item runs the items' versions beside
	// the stable ones; the order's gray group, not the engine, moves it.
	Graying     State = "Graying"
	Succeeded   State = "Succeeded"
	Failed      State = "Failed"
	RollingBack State = "RollingBack"
	RolledBack  State = "RolledBack"
	Aborted     State = "Aborted"
)

// Active reports whether the engine still has work for an order in s.
func (s State) Active() bool { return s == Running || s == Failed || s == RollingBack }

// Final reports whether an order in s is finished.
func (s State) Final() bool { return s == Succeeded || s == RolledBack || s == Aborted }

// ItemState is where one item of an order is.
type ItemState string

// Item states.
const (
	ItemPending     ItemState = "Pending"
	ItemDeploying   ItemState = "Deploying"
	ItemSucceeded   ItemState = "Succeeded"
	ItemFailed      ItemState = "Failed"
	ItemCancelled   ItemState = "Cancelled"
	ItemRollingBack ItemState = "RollingBack"
	ItemRolledBack  ItemState = "RolledBack"
)

// DefaultDeadline is how long an item's new version has to become ready
// when the order does not say.
const DefaultDeadline = 5 * time.Minute

// DefaultParallelism is how many items run at once when the order does not
// say.
const DefaultParallelism = 10

// DefaultUnreachableLimit is how long the environment's cluster may be
// unreachable during a running order before that counts as a system fault.
const DefaultUnreachableLimit = 60 * time.Second

// Order is a release order.
type Order struct {
	Tenant      string `json:"tenant"`
	Project     string `json:"project"`
	ID          string `json:"id"`
	Environment string `json:"environment"`
	Title       string `json:"title"`
	// Ticket is the related change ticket (关联任务), e.g. "CHG-2026-1182".
	Ticket string `json:"ticket,omitempty"`
	// Parallelism bounds how many items deploy at once.
	Parallelism int `json:"parallelism"`
	// Deadline is each item's default time to become ready.
	Deadline resource.Duration `json:"deadline"`
	Items    []Item            `json:"items"`
	State    State             `json:"state"`
	// RequiredApprovals is the environment's rule when the order was
	// submitted: that many distinct approvers, none of them the creator.
	RequiredApprovals int        `json:"requiredApprovals"`
	Approvals         []Approval `json:"approvals,omitempty"`
	// RollbackOf names the order a manual rollback order undoes.
	RollbackOf string `json:"rollbackOf,omitempty"`
	// RolledBackBy names the manual rollback order that undid this one.
	RolledBackBy string `json:"rolledBackBy,omitempty"`
	// Failure is the system fault, or the abort, that turned the order back.
	Failure *Failure `json:"failure,omitempty"`
	// UnreachableSince is when the engine first found the cluster away
	// during this order; cleared when it answers again.
	UnreachableSince *time.Time `json:"unreachableSince,omitempty"`

	CreatedBy       string     `json:"createdBy"`
	CreatedAt       time.Time  `json:"createdAt"`
	StartedBy       string     `json:"startedBy,omitempty"`
	StartedAt       *time.Time `json:"startedAt,omitempty"`
	FinishedAt      *time.Time `json:"finishedAt,omitempty"`
	UpdatedAt       time.Time  `json:"updatedAt"`
	ResourceVersion int64      `json:"resourceVersion"`
}

// Item is one application of an order.
type Item struct {
	Application string   `json:"application"`
	Version     string   `json:"version"`
	DependsOn   []string `json:"dependsOn,omitempty"`
	// Deadline overrides the order's deadline for this item.
	Deadline *resource.Duration `json:"deadline,omitempty"`
	// Checks are the metric checks (internal/analysis) the item's new
	// version must pass once ready before the item succeeds; a failed
	// check is a fault that rolls the whole order back.
	Checks []analysis.Check `json:"checks,omitempty"`

	State ItemState `json:"state"`
	// Before is what ran before the order touched the item; set when the
	// item starts, in the same transaction as its deployment change.
	Before *Snapshot `json:"before,omitempty"`
	// Generation is the deployment generation the item's last change (its
	// deploy, then its rollback) produced; the item waits for it.
	Generation int64      `json:"generation,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Message says what happened last, for people.
	Message string `json:"message,omitempty"`
	// Fault is the evidence when this item failed.
	Fault *Fault `json:"fault,omitempty"`
	// Analysis is the run of Checks, started when the version became
	// ready: every query, the values observed and when, the verdicts.
	Analysis *analysis.Run `json:"analysis,omitempty"`
}

// Snapshot is an application's deployment in the environment as it was
// before an order changed it.
type Snapshot struct {
	// Absent means the application was not deployed there.
	Absent   bool   `json:"absent,omitempty"`
	Version  string `json:"version,omitempty"`
	Replicas *int32 `json:"replicas,omitempty"`
	Stopped  bool   `json:"stopped,omitempty"`
}

// Approval is one approver's consent.
type Approval struct {
	User    string    `json:"user"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
}

// Failure is why an order turned back.
type Failure struct {
	// Item is the application whose fault it was; "" for an abort or an
	// unreachable cluster.
	Item    string    `json:"item,omitempty"`
	Reason  string    `json:"reason"`
	Message string    `json:"message"`
	Pod     string    `json:"pod,omitempty"`
	At      time.Time `json:"at"`
}

// Fault is a system fault read from the cluster, with its evidence.
type Fault struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Pod     string `json:"pod,omitempty"`
}

// Progress counts an order's items as the seed's table shows them:
// "done N / deploying N / failed N".
type Progress struct {
	Total     int `json:"total"`
	Done      int `json:"done"`
	Deploying int `json:"deploying"`
	Failed    int `json:"failed"`
	Pending   int `json:"pending"`
	// RolledBack and Cancelled count the items an order turned back.
	RolledBack int `json:"rolledBack"`
	Cancelled  int `json:"cancelled"`
}

// Progress counts o's items.
func (o Order) Progress() Progress {
	p := Progress{Total: len(o.Items)}
	for _, it := range o.Items {
		switch it.State {
		case ItemSucceeded:
			p.Done++
		case ItemDeploying, ItemRollingBack:
			p.Deploying++
		case ItemFailed:
			p.Failed++
		case ItemPending:
			p.Pending++
		case ItemRolledBack:
			p.RolledBack++
		case ItemCancelled:
			p.Cancelled++
		}
		if it.Fault != nil && it.State != ItemFailed {
			p.Failed++ // rolled back since, but it was the failure
		}
	}
	return p
}

// Path is the order's resource path, its audit target.
func (o Order) Path() string {
	return "tenants/" + o.Tenant + "/projects/" + o.Project + "/releases/" + o.ID
}

// Item returns the item for app, or nil.
func (o *Order) Item(app string) *Item {
	for i := range o.Items {
		if o.Items[i].Application == app {
			return &o.Items[i]
		}
	}
	return nil
}

// PageKey is what a list of orders continues after: "created/id".
func PageKey(o Order) string { return CreatedKey(o) + "/" + o.ID }

// CreatedKey is o's creation time in a fixed-width form that sorts as text.
func CreatedKey(o Order) string { return o.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z") }

// Filter narrows an order list.
type Filter struct {
	Tenant      string
	Project     string
	Environment string // optional
}

// Lock says that an order holds an application in an environment: two
// orders never touch one application at a time.
type Lock struct {
	Tenant, Project, Environment, Application string
	Order                                     string
}

// Store is what release needs from persistence, bound to one transaction:
// deployments (and through them versions, environments, quota and audit),
// the notification outbox, and the orders themselves.
type Store interface {
	deploy.Store
	notify.Store

	CreateOrder(ctx context.Context, o Order) error
	GetOrder(ctx context.Context, tenant, project, id string) (Order, error)
	// UpdateOrder replaces o if its stored ResourceVersion is prevRV, else
	// resource.ErrConflict.
	UpdateOrder(ctx context.Context, o Order, prevRV int64) error
	// ListOrders lists a project's orders, newest first; after is the ID of
	// the last order of the previous page.
	ListOrders(ctx context.Context, f Filter, after string, limit int) ([]Order, error)
	// ActiveOrders lists every order the engine has work for.
	ActiveOrders(ctx context.Context) ([]Order, error)
	// LockApplication records that l.Order holds the application, failing
	// with resource.ErrAlreadyExists when another order holds it.
	LockApplication(ctx context.Context, l Lock) error
	// GetLock returns who holds an application, resource.ErrNotFound if
	// nobody does.
	GetLock(ctx context.Context, tenant, project, environment, application string) (Lock, error)
	// UnlockOrder releases every application order id holds.
	UnlockOrder(ctx context.Context, tenant, project, id string) error
}
