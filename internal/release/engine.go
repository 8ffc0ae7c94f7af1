package release

import (
	"context"
	"errors"
	"fmt"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// Observation is what the cluster shows of one application in an order's
// environment.
type Observation struct {
	// Reachable is false while the environment's cluster does not answer;
	// the rest is then unknown.
	Reachable bool
	// Connecting is set while Berth itself has not finished connecting to
	// the cluster (just after a restart): nothing is known, and that is no
	// fault of the cluster, so no deadline runs.
	Connecting bool
	// Version is the version the live Deployment's pod template runs; ""
	// when there is no Deployment.
	Version string
	// Ready: the rollout of Version is complete and every desired replica
	// is ready (or the application is stopped on purpose).
	Ready bool
	// Fault is a system fault of Version's pods or rollout: a crash loop,
	// an image that cannot be pulled, the progress deadline passed.
	Fault *Fault
	// Summary describes the state for people ("2 of 3 replicas ready").
	Summary string
}

// Observer reads applications' live state. It answers from watch caches and
// must not block: Advance calls it inside a transaction.
type Observer interface {
	Observe(env tenancy.Environment, app string) Observation
}

// pollEvery is the longest an active order waits between looks when no
// event wakes it.
const pollEvery = 2 * time.Second

// Advance takes every step an active order can take now, in one
// transaction: it records items that became ready, detects system faults,
// starts the items whose dependencies succeeded, and, once turned back,
// issues and follows the rollback. It returns the order and how soon it
// wants to be looked at again without an event (0 once it is final).
func (s *Service) Advance(ctx context.Context, st Store, k Key, obs Observer) (Order, time.Duration, error) {
	o, err := st.GetOrder(ctx, k.Tenant, k.Project, k.ID)
	if err != nil {
		return Order{}, 0, fmt.Errorf("release order %s: %w", k.ID, err)
	}
	if !o.State.Active() {
		return o, 0, nil
	}
	env, err := st.GetEnvironment(ctx, o.Tenant, o.Project, o.Environment)
	if err != nil {
		return Order{}, 0, fmt.Errorf("environment of release order %s: %w", o.ID, err)
	}
	e := &engine{s: s, st: st, obs: obs, env: env, o: &o, now: s.now(), wait: pollEvery, deps: map[string]*deploy.Deployment{}}
	if o.State == Running {
		if err := e.run(ctx); err != nil {
			return Order{}, 0, err
		}
	}
	if o.State == Failed || o.State == RollingBack {
		if err := e.rollBack(ctx); err != nil {
			return Order{}, 0, err
		}
	}
	if !e.dirty {
		return o, e.wait, nil
	}
	if err := s.save(ctx, st, &o); err != nil {
		return Order{}, 0, err
	}
	if o.State.Final() {
		e.wait = 0
	}
	return o, e.wait, nil
}

// engine is one Advance of one order.
type engine struct {
	s     *Service
	st    Store
	obs   Observer
	env   tenancy.Environment
	o     *Order
	now   time.Time
	wait  time.Duration
	dirty bool
	deps  map[string]*deploy.Deployment // read once per Advance; nil: none
}

func (e *engine) key(app string) deploy.Key {
	return deploy.Key{Tenant: e.o.Tenant, Project: e.o.Project, Application: app, Environment: e.o.Environment}
}

// deployment returns the application's deployment, nil when there is none.
func (e *engine) deployment(ctx context.Context, app string) (*deploy.Deployment, error) {
	if d, ok := e.deps[app]; ok {
		return d, nil
	}
	d, err := e.st.GetDeployment(ctx, e.key(app))
	if errors.Is(err, resource.ErrNotFound) {
		e.deps[app] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e.deps[app] = &d
	return &d, nil
}

// event audits one step of the engine and marks the order to be saved.
func (e *engine) event(ctx context.Context, action, format string, args ...any) error {
	e.dirty = true
	_, err := audit.Append(ctx, e.st, e.now, audit.System, audit.Event{Tenant: e.o.Tenant, Project: e.o.Project,
		Action: action, Target: e.o.Path(), Summary: fmt.Sprintf("release order %s: ", e.o.ID) + fmt.Sprintf(format, args...)})
	return err
}

// soon asks to be looked at again within d.
func (e *engine) soon(d time.Duration) {
	if d < time.Millisecond {
		d = time.Millisecond
	}
	if d < e.wait {
		e.wait = d
	}
}

// run follows the deploying items, turns the order back on a fault, starts
// what may start, and ends the order once every item succeeded.
func (e *engine) run(ctx context.Context) error {
	fault, err := e.follow(ctx)
	if err != nil {
		return err
	}
	if fault != nil {
		return e.s.turnBack(ctx, e.st, e.o, *fault)
	}
	if err := e.startReady(ctx); err != nil {
		return err
	}
	if e.o.State != Running {
		return nil // starting an item failed and turned the order back
	}
	for _, it := range e.o.Items {
		if it.State != ItemSucceeded {
			return nil
		}
	}
	finished := e.now
	e.o.State, e.o.FinishedAt = Succeeded, &finished
	if err := e.event(ctx, "release.succeeded", "every item succeeded: %s", itemList(e.o.Items)); err != nil {
		return err
	}
	return e.s.notify(ctx, e.st, *e.o, "release.succeeded", fmt.Sprintf("发布单 %s 成功 / release order %s succeeded", e.o.ID, e.o.ID),
		fmt.Sprintf("**%s** (%s) → %s: all %d items released", e.o.Title, orDash(e.o.Ticket), e.o.Environment, len(e.o.Items)))
}

// follow checks every deploying item: ready ones succeed; the first system
// fault found is returned, its item marked Failed.
func (e *engine) follow(ctx context.Context) (*Failure, error) {
	for i := range e.o.Items {
		it := &e.o.Items[i]
		if it.State != ItemDeploying {
			continue
		}
		f, err := e.check(ctx, it)
		if err != nil || f != nil {
			return f, err
		}
	}
	return nil, nil
}

// check looks at one deploying item.
func (e *engine) check(ctx context.Context, it *Item) (*Failure, error) {
	d, err := e.deployment(ctx, it.Application)
	if err != nil {
		return nil, err
	}
	if d == nil || d.Deleting {
		return e.fail(ctx, it, Fault{Reason: "DeploymentRemoved", Message: "the deployment was deleted while the order ran"})
	}
	if d.Applied.Generation < it.Generation {
		if c, ok := resource.FindCondition(d.Applied.Conditions, resource.ConditionReady); ok && c.Status == resource.ConditionFalse &&
			c.Reason == deploy.ReasonHookFailed && c.ObservedGeneration >= it.Generation {
			return e.fail(ctx, it, Fault{Reason: deploy.ReasonHookFailed, Message: c.Message}) // a chart's hook failed: a system fault
		}
		return e.deadline(ctx, it, orDash(d.Applied.Error))
	}
	ob := e.obs.Observe(e.env, it.Application)
	if ob.Connecting {
		e.soon(200 * time.Millisecond)
		return nil, nil
	}
	if !ob.Reachable {
		return e.unreachable(ctx, it, ob.Summary)
	}
	e.o.UnreachableSince = nil
	if ob.Version != it.Version {
		return e.deadline(ctx, it, "the cluster does not show version "+it.Version+" yet")
	}
	if ob.Fault != nil {
		return e.fail(ctx, it, *ob.Fault)
	}
	if !ob.Ready && it.Analysis == nil { // once analysing, a pod restarting is no reason to stop
		return e.deadline(ctx, it, ob.Summary)
	}
	if len(it.Checks) > 0 {
		return e.analyse(ctx, it)
	}
	return nil, e.succeed(ctx, it, "version "+it.Version+" ready")
}

func (e *engine) succeed(ctx context.Context, it *Item, what string) error {
	done := e.now
	it.State, it.FinishedAt, it.Message = ItemSucceeded, &done, what
	return e.event(ctx, "release.item-succeeded", "%s version %s in %s: %s", it.Application, it.Version, e.o.Environment, what)
}

// deadline fails the item when its deadline passed, else waits for it.
func (e *engine) deadline(ctx context.Context, it *Item, state string) (*Failure, error) {
	limit := e.o.Deadline.Duration
	if it.Deadline != nil {
		limit = it.Deadline.Duration
	}
	left := it.StartedAt.Add(limit).Sub(e.now)
	if left > 0 {
		e.soon(left)
		if it.Message != state {
			it.Message, e.dirty = state, true
		}
		return nil, nil
	}
	return e.fail(ctx, it, Fault{Reason: "DeadlineExceeded",
		Message: fmt.Sprintf("version %s not ready within %s: %s", it.Version, limit, state)})
}

// unreachable fails the item once the cluster has been away for longer than
// the limit.
func (e *engine) unreachable(ctx context.Context, it *Item, why string) (*Failure, error) {
	if e.o.UnreachableSince == nil {
		since := e.now
		e.o.UnreachableSince, e.dirty = &since, true
	}
	left := e.o.UnreachableSince.Add(e.s.UnreachableLimit).Sub(e.now)
	if left > 0 {
		e.soon(left)
		return nil, nil
	}
	return e.fail(ctx, it, Fault{Reason: "ClusterUnreachable",
		Message: fmt.Sprintf("cluster %s unreachable for more than %s: %s", e.env.Cluster, e.s.UnreachableLimit, why)})
}

func (e *engine) fail(ctx context.Context, it *Item, f Fault) (*Failure, error) {
	done := e.now
	it.State, it.Fault, it.FinishedAt, it.Message = ItemFailed, &f, &done, f.Reason+": "+f.Message
	err := e.event(ctx, "release.item-failed", "%s version %s failed in %s: %s: %s (pod %s)",
		it.Application, it.Version, e.o.Environment, f.Reason, f.Message, orDash(f.Pod))
	return &Failure{Item: it.Application, Reason: f.Reason, Message: f.Message, Pod: f.Pod, At: e.now}, err
}

// startReady starts every pending item whose dependencies all succeeded,
// up to the order's parallelism.
func (e *engine) startReady(ctx context.Context) error {
	state := map[string]ItemState{}
	running := 0
	for _, it := range e.o.Items {
		state[it.Application] = it.State
		if it.State == ItemDeploying {
			running++
		}
	}
	for i := range e.o.Items {
		it := &e.o.Items[i]
		if running >= e.o.Parallelism || e.o.State != Running {
			return nil
		}
		if it.State != ItemPending || !depsSucceeded(*it, state) {
			continue
		}
		if err := e.start(ctx, it); err != nil {
			return err
		}
		running++
	}
	return nil
}

func depsSucceeded(it Item, state map[string]ItemState) bool {
	for _, d := range it.DependsOn {
		if state[d] != ItemSucceeded {
			return false
		}
	}
	return true
}

// start records what runs now and deploys the item's version, in the same
// transaction. A change the platform refuses (quota, a deployment being
// deleted) is a fault of the order.
func (e *engine) start(ctx context.Context, it *Item) error {
	d, err := e.deployment(ctx, it.Application)
	if err != nil {
		return err
	}
	before := &Snapshot{Absent: true}
	if d != nil {
		before = &Snapshot{Version: d.Version, Replicas: d.Replicas, Stopped: d.Stopped}
	}
	nd, err := e.s.deploy.Deploy(ctx, e.st, audit.System, e.key(it.Application), it.Version)
	if err != nil {
		var qe *resource.QuotaExceededError
		var ve *resource.ValidationError
		if errors.As(err, &qe) || errors.As(err, &ve) || errors.Is(err, resource.ErrConflict) || errors.Is(err, resource.ErrNotFound) {
			started := e.now
			it.StartedAt = &started
			f, ferr := e.fail(ctx, it, Fault{Reason: "Refused", Message: err.Error()})
			if ferr != nil {
				return ferr
			}
			return e.s.turnBack(ctx, e.st, e.o, *f)
		}
		return err
	}
	e.deps[it.Application] = &nd
	started := e.now
	it.State, it.Before, it.Generation, it.StartedAt = ItemDeploying, before, nd.Generation, &started
	it.Message = "deploying version " + it.Version
	was := "not deployed"
	if !before.Absent {
		was = "version " + before.Version
	}
	return e.event(ctx, "release.item-start", "deploying %s version %s to %s (was %s)", it.Application, it.Version, e.o.Environment, was)
}

// turnBack records the failure, cancels what has not started and turns
// the order to rolling back. It is audited and notified with the evidence.
func (s *Service) turnBack(ctx context.Context, st Store, o *Order, f Failure) error {
	o.Failure, o.State = &f, Failed
	for i := range o.Items {
		if o.Items[i].State == ItemPending {
			o.Items[i].State, o.Items[i].Message = ItemCancelled, "cancelled: the order is rolling back"
		}
	}
	evidence := f.Reason + ": " + f.Message
	if f.Pod != "" {
		evidence += " (pod " + f.Pod + ")"
	}
	if _, err := audit.Append(ctx, st, s.now(), audit.System, audit.Event{Tenant: o.Tenant, Project: o.Project, Action: "release.failed",
		Outcome: audit.Failure, Target: o.Path(),
		Summary: fmt.Sprintf("release order %s failed at %s: %s; rolling back every item", o.ID, orDash(f.Item), evidence)}); err != nil {
		return err
	}
	if err := s.notify(ctx, st, *o, "release.failed", fmt.Sprintf("发布单 %s 失败，正在回滚 / release order %s failed, rolling back", o.ID, o.ID),
		fmt.Sprintf("**%s** (%s) → %s\n\n故障 / fault: %s: `%s`", o.Title, orDash(o.Ticket), o.Environment, orDash(f.Item), evidence)); err != nil {
		return err
	}
	o.State = RollingBack
	return nil
}
