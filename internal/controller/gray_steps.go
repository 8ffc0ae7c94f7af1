package controller

// The steps of a gray plan's reconcile (GrayPlans.Reconcile).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// A grayPass is one reconcile of one gray plan: what its steps found and
// did.
type grayPass struct {
	c  *GrayPlans
	k  deploy.Key
	at step // the step running

	s    grayState
	conn *kube.Conn
	prev kube.Inventory // what the last apply left in the cluster

	objs, routes []*unstructured.Unstructured
	waiting      bool // a version's objects wait on something (desired)
	inv          kube.Inventory
	serving      []string
	analysis     time.Duration // how soon the step's metric checks want a look (0: none running)
}

func (p *grayPass) load(ctx context.Context) (bool, time.Duration, error) {
	s, err := p.c.load(ctx, p.k)
	if errors.Is(err, resource.ErrNotFound) {
		return true, 0, nil
	}
	if err != nil {
		return true, 0, fmt.Errorf("load: %w", err)
	}
	p.s = s
	return false, 0, nil
}

func (p *grayPass) expire(ctx context.Context) (bool, time.Duration, error) {
	c, plan := p.c, p.s.plan
	if plan.Phase != gray.Promoted || plan.KeepOldUntil == nil || c.clock.Now().Before(*plan.KeepOldUntil) {
		return false, 0, nil
	}
	// The change is announced, which enqueues the plan again.
	return true, 0, c.db.InTx(ctx, func(st platform.Tx) error {
		_, err := c.svc.Expire(ctx, st, p.k, c.clock.Now())
		return err
	})
}

func (p *grayPass) connect(ctx context.Context) (bool, time.Duration, error) {
	plan := p.s.plan
	conn, err := p.c.clusters.Ready(p.s.env.Cluster)
	if err != nil {
		if plan.Applied.Error != err.Error() {
			if rerr := p.fail(ctx, err); rerr != nil {
				return true, 0, rerr
			}
		}
		return true, 5 * time.Second, nil
	}
	p.conn = conn
	return false, 0, nil
}

func (p *grayPass) route(ctx context.Context) (bool, time.Duration, error) {
	c := p.c
	if wait, err := c.gatewayBehind(ctx, p.s, p.fail); wait || err != nil {
		return true, time.Second, err
	}
	if routesThroughGateway(c.gateway, p.s) && !c.gateway.Delivered() {
		// Published, but a gateway has not put it in force yet: removing
		// pods now could leave it routing to none.
		return true, deliveryPoll, nil
	}
	return false, 0, nil
}

func (p *grayPass) render(ctx context.Context) (bool, time.Duration, error) {
	c, plan := p.c, p.s.plan
	if err := p.readFiles(ctx); errors.Is(err, resource.ErrNotFound) {
		return true, 0, p.fail(ctx, err) // the item's creation reconciles again
	} else if err != nil {
		return true, 0, err
	}
	var err error
	p.objs, p.waiting, err = c.desired(ctx, p.s, p.conn)
	if err != nil {
		return true, 0, p.fail(ctx, fmt.Errorf("render: %w", err))
	}
	if p.routes, err = c.routeObjects(p.s); err != nil {
		return true, 0, p.fail(ctx, err)
	}
	if len(plan.Applied.Inventory) > 0 {
		if err := json.Unmarshal(plan.Applied.Inventory, &p.prev); err != nil {
			return true, 0, fmt.Errorf("inventory of %s: %w", gray.Path(p.k), err)
		}
	}
	return false, 0, nil
}

func (p *grayPass) claim(ctx context.Context) (bool, time.Duration, error) {
	if err := notOthers(ctx, p.conn, p.objs, p.prev); err != nil {
		return true, 0, p.fail(ctx, err)
	}
	return false, 0, nil
}

func (p *grayPass) apply(ctx context.Context) (bool, time.Duration, error) {
	inv, applyErr := apply(ctx, p.conn, p.objs, p.routes, p.prev)
	if applyErr != nil {
		return true, 0, errors.Join(applyErr, p.fail(ctx, applyErr))
	}
	p.inv = inv
	return false, 0, nil
}

func (p *grayPass) record(ctx context.Context) (bool, time.Duration, error) {
	plan := p.s.plan
	serving, err := p.c.serving(ctx, p.s, p.conn, p.objs)
	if err != nil {
		return true, 0, err
	}
	invJSON, err := json.Marshal(p.inv)
	if err != nil {
		return true, 0, err
	}
	a := plan.Applied
	if a.Generation != plan.Generation || a.Error != "" || string(invJSON) != string(a.Inventory) || !slices.Equal(serving, a.Serving) ||
		!readyAt(a.Conditions, plan.Generation) {
		if err := p.c.record(ctx, plan, invJSON, serving, reasonApplied, nil); err != nil {
			return true, 0, err
		}
	}
	p.serving = serving
	return false, 0, nil
}

// analyse runs the current step's metric checks in a transaction of
// their own, after the plan's serving versions are recorded (the checks
// start once gray serves). Prometheus is asked without blocking; a failed
// check aborts the plan, which is announced and reconciled again.
func (p *grayPass) analyse(ctx context.Context) (bool, time.Duration, error) {
	c := p.c
	if c.groups == nil || p.s.plan.Phase != gray.Running {
		return false, 0, nil
	}
	return false, 0, c.db.InTx(ctx, func(st platform.Tx) error {
		var err error
		p.analysis, err = c.groups.Analyse(ctx, st, p.k, p.s.env)
		return err
	})
}

func (p *grayPass) wait(context.Context) (bool, time.Duration, error) {
	plan := p.s.plan
	if p.waiting || len(p.serving) < len(wantServing(p.s)) {
		return true, time.Second, nil
	}
	if p.analysis > 0 {
		return true, p.analysis, nil
	}
	if plan.Phase == gray.Promoted && plan.KeepOldUntil != nil {
		return true, max(plan.KeepOldUntil.Sub(p.c.clock.Now()), time.Second), nil // end it on time
	}
	return true, 0, nil
}

// readFiles reads the config items the plan's versions mount as files.
func (p *grayPass) readFiles(ctx context.Context) error {
	if !p.s.follows() {
		p.c.files.track(p.k, nil)
		return nil
	}
	names := slices.Sorted(maps.Keys(p.s.versions))
	versions := make([]apps.Version, len(names))
	for i, n := range names {
		versions[i] = p.s.versions[n]
	}
	files, err := p.c.files.read(ctx, p.k, versions...)
	if err != nil {
		return err
	}
	p.s.files = map[string][]kube.File{}
	for i, n := range names {
		p.s.files[n] = files[i]
	}
	return nil
}
