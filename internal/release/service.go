package release

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/resource"
)

// MaxParallelism bounds an order's Parallelism.
const MaxParallelism = 100

// Key names an order.
type Key struct{ Tenant, Project, ID string }

// Key returns o's key.
func (o Order) Key() Key { return Key{o.Tenant, o.Project, o.ID} }

// Change names k in a change of kind.
func (k Key) Change(kind change.Kind) change.Changed {
	return change.Changed{Kind: kind, Key: change.Key{Tenant: k.Tenant, Project: k.Project, Name: k.ID}}
}

// KeyOf is the order a change names.
func KeyOf(c change.Changed) Key {
	return Key{Tenant: c.Key.Tenant, Project: c.Key.Project, ID: c.Key.Name}
}

// Service applies release orders' rules and runs them (Advance). It is safe
// for concurrent use.
type Service struct {
	clock  clock.Clock
	deploy *deploy.Service
	// changes, if set, hears of every order whose state changed, once the
	// change has committed (the release controller's wake-up).
	changes *change.Bus
	// UnreachableLimit is how long the cluster may be away during an
	// order before that is a system fault.
	UnreachableLimit time.Duration
	// analyzer answers the items' metric checks and checker parses their
	// custom queries (SetAnalysis); without an analyzer an order with
	// checks is refused.
	analyzer analysis.Analyzer
	checker  analysis.Checker
}

// SetAnalysis has items' metric checks answered by a (Prometheus) and
// their custom queries parsed by c; call it before use.
func (s *Service) SetAnalysis(a analysis.Analyzer, c analysis.Checker) { s.analyzer, s.checker = a, c }

// NewService returns a Service reading time from c and changing
// deployments through d. changes may be nil.
func NewService(c clock.Clock, d *deploy.Service, changes *change.Bus) *Service {
	return &Service{clock: c, deploy: d, changes: changes, UnreachableLimit: DefaultUnreachableLimit}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// Create records a new order for o.Environment with o's title, ticket,
// parallelism, deadline and items (their dependencies as given; use Stages
// for the staged shorthand). Every item must name an application of the
// project and one of its versions. Unless draft, the order is submitted at
// once: Approved when the environment requires no approval, else
// PendingApproval. The order's ID is assigned here.
func (s *Service) Create(ctx context.Context, st Store, a audit.Actor, o Order, draft bool) (Order, error) {
	if err := validateOrder(o); err != nil {
		return Order{}, err
	}
	if err := s.checkRefs(ctx, st, o); err != nil {
		return Order{}, err
	}
	if err := s.checkAnalysis(ctx, o.Items); err != nil {
		return Order{}, err
	}
	now := s.now()
	o.ID = newID(now)
	o.State, o.Approvals, o.Failure, o.RollbackOf, o.RolledBackBy = Draft, nil, nil, "", ""
	o.CreatedBy, o.CreatedAt, o.UpdatedAt, o.ResourceVersion = a.User, now, now, 1
	o.StartedAt, o.FinishedAt, o.StartedBy = nil, nil, ""
	if o.Parallelism == 0 {
		o.Parallelism = DefaultParallelism
	}
	if o.Deadline.Duration == 0 {
		o.Deadline.Duration = DefaultDeadline
	}
	o.Items = fresh(o.Items)
	if !draft {
		if err := s.submit(ctx, st, &o); err != nil {
			return Order{}, err
		}
	}
	if err := st.CreateOrder(ctx, o); err != nil {
		return Order{}, fmt.Errorf("create release order: %w", err)
	}
	return o, s.record(ctx, st, a, o, "release.create", fmt.Sprintf("created release order %s %q (ticket %s) for %s: %s; %s",
		o.ID, o.Title, orDash(o.Ticket), o.Environment, itemList(o.Items), o.State))
}

func validateOrder(o Order) error {
	var errs resource.Errors
	errs.CheckName("tenant", o.Tenant)
	errs.CheckName("project", o.Project)
	errs.CheckName("environment", o.Environment)
	if strings.TrimSpace(o.Title) == "" {
		errs.Add("title", "must not be empty: say what the release is")
	}
	errs.CheckLen("title", o.Title, 200)
	errs.CheckLen("ticket", o.Ticket, 100)
	if o.Parallelism < 0 || o.Parallelism > MaxParallelism {
		errs.Add("parallelism", "want 1 to %d items at once (0 for the default %d), got %d", MaxParallelism, DefaultParallelism, o.Parallelism)
	}
	if d := o.Deadline.Duration; d != 0 && (d < time.Second || d > 24*time.Hour) {
		errs.Add("deadline", "want between 1s and 24h, got %s", d)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	return validateItems(o.Items)
}

// checkRefs checks that the environment exists and every item names a
// version of an application of the order's project.
func (s *Service) checkRefs(ctx context.Context, st Store, o Order) error {
	if _, err := st.GetEnvironment(ctx, o.Tenant, o.Project, o.Environment); err != nil {
		return fieldErr("environment", err, "environment %s of project %s/%s", o.Environment, o.Tenant, o.Project)
	}
	var errs resource.Errors
	for i, it := range o.Items {
		if _, err := st.GetApplication(ctx, o.Tenant, o.Project, it.Application); err != nil {
			if !errors.Is(err, resource.ErrNotFound) {
				return err
			}
			errs.Add(fmt.Sprintf("items[%d].application", i), "project %s/%s has no application %s", o.Tenant, o.Project, it.Application)
			continue
		}
		if _, err := st.GetVersion(ctx, o.Tenant, o.Project, it.Application, it.Version); err != nil {
			if !errors.Is(err, resource.ErrNotFound) {
				return err
			}
			errs.Add(fmt.Sprintf("items[%d].version", i), "application %s of project %s/%s has no version %s",
				it.Application, o.Tenant, o.Project, it.Version)
		}
	}
	return errs.Err()
}

// checkAnalysis refuses checks when no Prometheus answers them, and has
// their custom queries parsed.
func (s *Service) checkAnalysis(ctx context.Context, items []Item) error {
	for i, it := range items {
		path := fmt.Sprintf("items[%d].checks", i)
		if len(it.Checks) > 0 && s.analyzer == nil {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: path,
				Reason: "metric checks need the Prometheus Berth queries (berth server --prometheus-url); none is configured"}}}
		}
		if err := analysis.CheckQueries(ctx, s.checker, path, it.Checks); err != nil {
			return err
		}
	}
	return nil
}

// fresh returns items as a new order holds them: what was asked, nothing
// of what happened.
func fresh(items []Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{Application: it.Application, Version: it.Version, DependsOn: it.DependsOn, Deadline: it.Deadline, Checks: it.Checks,
			State: ItemPending}
	}
	return out
}

// fieldErr turns a not-found into a validation error on path, and wraps
// anything else.
func fieldErr(path string, err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, resource.ErrNotFound) {
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: path, Reason: what + " does not exist"}}}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// submit moves a draft to PendingApproval, or Approved when the
// environment asks for no approval, fixing the approval rule in the order.
func (s *Service) submit(ctx context.Context, st Store, o *Order) error {
	env, err := st.GetEnvironment(ctx, o.Tenant, o.Project, o.Environment)
	if err != nil {
		return fieldErr("environment", err, "environment %s", o.Environment)
	}
	// The floor set by tenant and platform admins binds environments
	// written before it was raised.
	if o.RequiredApprovals, err = RequiredApprovals(ctx, st, env); err != nil {
		return err
	}
	o.State = PendingApproval
	if o.RequiredApprovals == 0 {
		o.State = Approved
	}
	return nil
}

// Submit sends a draft for approval.
func (s *Service) Submit(ctx context.Context, st Store, a audit.Actor, k Key) (Order, error) {
	return s.change(ctx, st, a, k, "release.submit", func(o *Order) (string, error) {
		if o.State != Draft {
			return "", stateErr(*o, "submit", Draft)
		}
		if err := s.submit(ctx, st, o); err != nil {
			return "", err
		}
		return fmt.Sprintf("submitted release order %s: %s, %d approvals required", o.ID, o.State, o.RequiredApprovals), nil
	})
}

// Approve records a's approval. Four eyes: the creator cannot approve their
// own order, and each person approves once. With enough approvals the order
// becomes Approved. Whether a may approve at all (their role) is the
// caller's check.
func (s *Service) Approve(ctx context.Context, st Store, a audit.Actor, k Key, comment string) (Order, error) {
	var errs resource.Errors
	errs.CheckLen("comment", comment, 1000)
	if err := errs.Err(); err != nil {
		return Order{}, err
	}
	return s.change(ctx, st, a, k, "release.approve", func(o *Order) (string, error) {
		if o.State != PendingApproval {
			return "", stateErr(*o, "approve", PendingApproval)
		}
		if a.User == o.CreatedBy {
			return "", resource.Forbidden("release order %s: %s created it and cannot also approve it (four eyes)", o.ID, a.User)
		}
		for _, ap := range o.Approvals {
			if ap.User == a.User {
				return "", resource.Refused("release order %s: %s already approved it at %s", o.ID, a.User, ap.At.Format(time.RFC3339))
			}
		}
		o.Approvals = append(o.Approvals, Approval{User: a.User, At: s.now(), Comment: comment})
		if len(o.Approvals) >= o.RequiredApprovals {
			o.State = Approved
		}
		return fmt.Sprintf("approved release order %s (%d of %d): %s", o.ID, len(o.Approvals), o.RequiredApprovals, o.State), nil
	})
}

// Start runs an approved order. It takes every item's application for the
// order (another order holding one is refused, naming it) and hands the
// order to the engine.
func (s *Service) Start(ctx context.Context, st Store, a audit.Actor, k Key) (Order, error) {
	return s.change(ctx, st, a, k, "release.start", func(o *Order) (string, error) {
		if o.State == Graying {
			return "", resource.Refused("release order %s cannot start: it is being released by its gray group "+
				"(berth gray status --order %s); promote or abort that instead", o.ID, o.ID)
		}
		if o.State != Approved {
			if o.State == PendingApproval {
				return "", resource.Refused("release order %s cannot start: it has %d of the %d approvals environment %s requires",
					o.ID, len(o.Approvals), o.RequiredApprovals, o.Environment)
			}
			return "", stateErr(*o, "start", Approved)
		}
		if err := s.lock(ctx, st, *o); err != nil {
			return "", err
		}
		now := s.now()
		o.State, o.StartedAt, o.StartedBy = Running, &now, a.User
		if err := s.notify(ctx, st, *o, "release.started", fmt.Sprintf("发布单 %s 开始 / release order %s started", o.ID, o.ID),
			fmt.Sprintf("**%s** (%s) → %s, %d items, started by %s", o.Title, orDash(o.Ticket), o.Environment, len(o.Items), a.User)); err != nil {
			return "", err
		}
		return fmt.Sprintf("started release order %s in %s", o.ID, o.Environment), nil
	})
}

func (s *Service) lock(ctx context.Context, st Store, o Order) error {
	var held []string
	for _, it := range o.Items {
		err := st.LockApplication(ctx, Lock{Tenant: o.Tenant, Project: o.Project, Environment: o.Environment, Application: it.Application, Order: o.ID})
		if errors.Is(err, resource.ErrAlreadyExists) {
			holder, gerr := st.GetLock(ctx, o.Tenant, o.Project, o.Environment, it.Application)
			if gerr != nil {
				return gerr
			}
			held = append(held, fmt.Sprintf("%s (by order %s)", it.Application, holder.Order))
			continue
		}
		if err != nil {
			return fmt.Errorf("lock %s: %w", it.Application, err)
		}
	}
	if len(held) > 0 {
		return resource.Refused("release order %s cannot start: %s in %s %s being released; wait for that to finish",
			o.ID, strings.Join(held, ", "), o.Environment, map[bool]string{true: "is", false: "are"}[len(held) == 1])
	}
	return nil
}

// Abort stops an order. Before it starts, the order simply ends Aborted.
// Once it runs, an order is a transaction: aborting rolls back every item
// it started, as a system fault would.
func (s *Service) Abort(ctx context.Context, st Store, a audit.Actor, k Key, reason string) (Order, error) {
	var errs resource.Errors
	errs.CheckLen("reason", reason, 1000)
	if err := errs.Err(); err != nil {
		return Order{}, err
	}
	return s.change(ctx, st, a, k, "release.abort", func(o *Order) (string, error) {
		now := s.now()
		switch o.State {
		case Draft, PendingApproval, Approved:
			o.State, o.FinishedAt = Aborted, &now
			for i := range o.Items {
				o.Items[i].State = ItemCancelled
			}
			if err := s.notify(ctx, st, *o, "release.aborted", fmt.Sprintf("发布单 %s 已取消 / release order %s aborted", o.ID, o.ID),
				fmt.Sprintf("**%s** aborted by %s before it started: %s", o.Title, a.User, orDash(reason))); err != nil {
				return "", err
			}
			return fmt.Sprintf("aborted release order %s before it started: %s", o.ID, orDash(reason)), nil
		case Running:
			if err := s.turnBack(ctx, st, o, Failure{Reason: "Aborted", Message: fmt.Sprintf("aborted by %s: %s", a.User, orDash(reason)), At: now}); err != nil {
				return "", err
			}
			return fmt.Sprintf("aborted running release order %s, rolling back: %s", o.ID, orDash(reason)), nil
		case Graying:
			return "", resource.Refused("release order %s is being released by its gray group; abort that instead "+
				"(berth gray abort --order %s), which sends all traffic back to the stable versions", o.ID, o.ID)
		}
		return "", stateErr(*o, "abort", Draft, PendingApproval, Approved, Running)
	})
}

// RollbackRequest chooses what a manual rollback undoes.
type RollbackRequest struct {
	// Items are the applications to roll back; empty means all.
	Items []string `json:"items,omitempty"`
	// To names, per application, the version to return to; absent ones
	// return to the version they ran before the order.
	To map[string]string `json:"to,omitempty"`
	// Reason says what business fault was found.
	Reason string `json:"reason,omitempty"`
}

// Rollback undoes a succeeded order, or chosen items of it, because people
// found a business fault: it creates and starts a new order (RollbackOf the
// first) that deploys the versions the items ran before, or the named ones,
// dependents first. It needs no approval of its own: who may roll back is
// the caller's check (release managers), and it is audited as such.
func (s *Service) Rollback(ctx context.Context, st Store, a audit.Actor, k Key, req RollbackRequest) (Order, error) {
	var errs resource.Errors
	errs.CheckLen("reason", req.Reason, 1000)
	if err := errs.Err(); err != nil {
		return Order{}, err
	}
	o, err := st.GetOrder(ctx, k.Tenant, k.Project, k.ID)
	if err != nil {
		return Order{}, fmt.Errorf("release order %s: %w", k.ID, err)
	}
	if o.State != Succeeded {
		return Order{}, stateErr(o, "roll back", Succeeded)
	}
	if o.RolledBackBy != "" {
		return Order{}, resource.Refused("release order %s was already rolled back by order %s", o.ID, o.RolledBackBy)
	}
	items, err := rollbackItems(o, req)
	if err != nil {
		return Order{}, err
	}
	back := Order{Tenant: o.Tenant, Project: o.Project, Environment: o.Environment, Items: items,
		Title: "rollback of " + o.ID + ": " + orDash(req.Reason), Ticket: o.Ticket, Parallelism: o.Parallelism, Deadline: o.Deadline}
	if len(back.Title) > 200 {
		back.Title = back.Title[:200]
	}
	if err := validateOrder(back); err != nil {
		return Order{}, err
	}
	if err := s.checkRefs(ctx, st, back); err != nil {
		return Order{}, err
	}
	now := s.now()
	back.Items = fresh(back.Items)
	back.ID, back.RollbackOf, back.State = newID(now), o.ID, Approved
	back.CreatedBy, back.CreatedAt, back.UpdatedAt, back.ResourceVersion = a.User, now, now, 1
	if err := st.CreateOrder(ctx, back); err != nil {
		return Order{}, fmt.Errorf("create rollback order: %w", err)
	}
	if err := s.record(ctx, st, a, back, "release.rollback", fmt.Sprintf("rolling back release order %s (%s) by order %s: %s",
		o.ID, itemList(items), back.ID, orDash(req.Reason))); err != nil {
		return Order{}, err
	}
	prev := o.ResourceVersion
	o.RolledBackBy, o.ResourceVersion, o.UpdatedAt = back.ID, o.ResourceVersion+1, now
	if err := st.UpdateOrder(ctx, o, prev); err != nil {
		return Order{}, fmt.Errorf("mark release order %s rolled back: %w", o.ID, err)
	}
	return s.Start(ctx, st, a, back.Key())
}

// rollbackItems builds the items of a manual rollback: each chosen item
// back to its version before the order (or the named one), depending on
// the chosen items that depended on it, so dependents go first.
func rollbackItems(o Order, req RollbackRequest) ([]Item, error) {
	chosen := map[string]bool{}
	var errs resource.Errors
	for i, app := range req.Items {
		if o.Item(app) == nil {
			errs.Add(fmt.Sprintf("items[%d]", i), "%s is not an item of release order %s", app, o.ID)
		}
		chosen[app] = true
	}
	for app := range req.To {
		if o.Item(app) == nil || (len(chosen) > 0 && !chosen[app]) {
			errs.Add("to."+app, "%s is not an item being rolled back", app)
		}
	}
	var items []Item
	for i, it := range o.Items {
		if len(chosen) > 0 && !chosen[it.Application] {
			continue
		}
		version := req.To[it.Application]
		if version == "" && (it.Before == nil || it.Before.Absent) {
			errs.Add(fmt.Sprintf("to.%s", it.Application), "%s (items[%d]) was not deployed in %s before the order; name the version to return to",
				it.Application, i, o.Environment)
			continue
		}
		if version == "" {
			version = it.Before.Version
		}
		items = append(items, Item{Application: it.Application, Version: version, Deadline: it.Deadline})
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, it := range items {
		in[it.Application] = true
	}
	deps := dependents(o.Items)
	for i := range items {
		for _, d := range deps[items[i].Application] {
			if in[d] {
				items[i].DependsOn = append(items[i].DependsOn, d)
			}
		}
	}
	return items, nil
}

// Get returns an order.
func (s *Service) Get(ctx context.Context, st Store, k Key) (Order, error) {
	o, err := st.GetOrder(ctx, k.Tenant, k.Project, k.ID)
	if err != nil {
		return Order{}, fmt.Errorf("release order %s: %w", k.ID, err)
	}
	return o, nil
}

// change loads k's order, lets fn change it and say what it did, then
// writes it with its audit record and wakes the engine after commit.
func (s *Service) change(ctx context.Context, st Store, a audit.Actor, k Key, action string, fn func(*Order) (string, error)) (Order, error) {
	o, err := st.GetOrder(ctx, k.Tenant, k.Project, k.ID)
	if err != nil {
		return Order{}, fmt.Errorf("release order %s: %w", k.ID, err)
	}
	summary, err := fn(&o)
	if err != nil {
		return Order{}, err
	}
	if err := s.save(ctx, st, &o); err != nil {
		return Order{}, err
	}
	return o, s.record(ctx, st, a, o, action, summary)
}

func (s *Service) save(ctx context.Context, st Store, o *Order) error {
	prev := o.ResourceVersion
	o.ResourceVersion++
	o.UpdatedAt = s.now()
	if err := st.UpdateOrder(ctx, *o, prev); err != nil {
		return fmt.Errorf("save release order %s: %w", o.ID, err)
	}
	if o.State.Final() {
		if err := st.UnlockOrder(ctx, o.Tenant, o.Project, o.ID); err != nil {
			return fmt.Errorf("release the applications of order %s: %w", o.ID, err)
		}
	}
	s.changes.AfterCommit(st, o.Key().Change(change.Release))
	return nil
}

func (s *Service) record(ctx context.Context, st Store, a audit.Actor, o Order, action, summary string) error {
	_, err := audit.Append(ctx, st, s.now(), a, audit.Event{Tenant: o.Tenant, Project: o.Project, Action: action,
		Target: o.Path(), Summary: summary})
	return err
}

// notify writes a notification to the outbox, in the caller's
// transaction, so it is sent if and only if the change commits.
func (s *Service) notify(ctx context.Context, st Store, o Order, event, title, text string) error {
	p := o.Progress()
	text += fmt.Sprintf("\n\n> %s · %s · done %d / deploying %d / failed %d", o.ID, o.State, p.Done, p.Deploying, p.Failed)
	err := st.EnqueueNotification(ctx, notify.Message{Tenant: o.Tenant, Project: o.Project, Event: event, Title: title, Text: text, At: s.now()})
	if err != nil {
		return fmt.Errorf("notify %s of order %s: %w", event, o.ID, err)
	}
	return nil
}

func stateErr(o Order, verb string, want ...State) error {
	ws := make([]string, len(want))
	for i, w := range want {
		ws[i] = string(w)
	}
	return resource.Refused("cannot %s release order %s: it is %s, and only an order that is %s can be", verb, o.ID, o.State, strings.Join(ws, " or "))
}

func itemList(items []Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.Application + "→" + it.Version
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// newID returns a new order ID: the date, then random letters, e.g.
// "ro-20261122-k3f9q2". Readable in a chat, unique without coordination.
func newID(now time.Time) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "ro-" + now.Format("20060102") + "-" + string(b)
}
