package release

import (
	"context"
	"errors"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
)

// GrayOp is one change of the gray group that releases an order: one gray
// plan per item, all moved together (internal/gray.Groups).
type GrayOp string

// Gray group operations.
const (
	GrayStart   GrayOp = "start"
	GrayStep    GrayOp = "step"
	GraySet     GrayOp = "set"
	GrayPromote GrayOp = "promote"
	GrayAbort   GrayOp = "abort"
	GrayEnd     GrayOp = "end"
)

// Gray records op of the gray group releasing order k, in the caller's
// transaction, with one audit record on the order and one notification:
//
//   - start: the order must be Approved (approvals still apply); it takes
//     every item's application, as Start does, and becomes Graying, each
//     item Deploying with what ran before it;
//   - step, set: the order must be Graying; it does not change;
//   - promote: Graying → Succeeded, every item Succeeded;
//   - abort: Graying → Aborted (items Cancelled: nothing was deployed), or,
//     when a promoted group switches back, Succeeded → RolledBack;
//   - end: the order must be Succeeded; it does not change.
//
// summary says what the plans did, for the audit trail and the message.
func (s *Service) Gray(ctx context.Context, st Store, a audit.Actor, k Key, op GrayOp, summary string) (Order, error) {
	return s.change(ctx, st, a, k, "release.gray."+string(op), func(o *Order) (string, error) {
		if err := s.grayTransition(ctx, st, a, o, op, summary); err != nil {
			return "", err
		}
		title := fmt.Sprintf("发布单 %s 灰度%s / release order %s gray %s", o.ID, grayOpZh[op], o.ID, op)
		text := fmt.Sprintf("**%s** (%s) → %s, %d items, by %s: %s", o.Title, orDash(o.Ticket), o.Environment, len(o.Items), a.User, summary)
		if err := s.notify(ctx, st, *o, "release.gray."+string(op), title, text); err != nil {
			return "", err
		}
		return fmt.Sprintf("gray release of order %s, %s: %s", o.ID, op, summary), nil
	})
}

var grayOpZh = map[GrayOp]string{GrayStart: "开始", GrayStep: "扩大", GraySet: "调整", GrayPromote: "全量", GrayAbort: "回退", GrayEnd: "结束"}

func (s *Service) grayTransition(ctx context.Context, st Store, a audit.Actor, o *Order, op GrayOp, summary string) error {
	now := s.now()
	switch op {
	case GrayStart:
		if o.State == PendingApproval {
			return resource.Refused("release order %s cannot start a gray release: it has %d of the %d approvals environment %s requires",
				o.ID, len(o.Approvals), o.RequiredApprovals, o.Environment)
		}
		if o.State != Approved {
			return stateErr(*o, "start a gray release of", Approved)
		}
		if err := s.lock(ctx, st, *o); err != nil {
			return err
		}
		o.State, o.StartedAt, o.StartedBy = Graying, &now, a.User
		for i := range o.Items {
			it := &o.Items[i]
			before, err := s.snapshot(ctx, st, *o, it.Application)
			if err != nil {
				return err
			}
			it.State, it.Before, it.StartedAt, it.Message = ItemDeploying, &before, &now, "gray plan running beside "+before.Version
		}
	case GrayStep, GraySet:
		if o.State != Graying {
			return stateErr(*o, op.verb(), Graying)
		}
	case GrayPromote:
		if o.State != Graying {
			return stateErr(*o, op.verb(), Graying)
		}
		o.State, o.FinishedAt = Succeeded, &now
		for i := range o.Items {
			it := &o.Items[i]
			it.State, it.FinishedAt, it.Message = ItemSucceeded, &now, "promoted by the gray release: "+it.Version+" is stable"
		}
	case GrayAbort:
		switch o.State {
		case Graying:
			o.State, o.FinishedAt = Aborted, &now
			o.Failure = &Failure{Reason: "GrayAborted", Message: fmt.Sprintf("gray release aborted by %s: %s", a.User, summary), At: now}
			for i := range o.Items {
				it := &o.Items[i]
				it.State, it.FinishedAt, it.Message = ItemCancelled, &now, "gray release aborted: all traffic back to "+it.Before.Version
			}
		case Succeeded:
			o.State, o.FinishedAt = RolledBack, &now
			o.Failure = &Failure{Reason: "GraySwitchedBack", Message: fmt.Sprintf("switched back by %s: %s", a.User, summary), At: now}
			for i := range o.Items {
				it := &o.Items[i]
				it.State, it.FinishedAt, it.Message = ItemRolledBack, &now, "switched back to "+it.Before.Version
			}
		default:
			return stateErr(*o, op.verb(), Graying, Succeeded)
		}
	case GrayEnd:
		if o.State != Succeeded {
			return stateErr(*o, op.verb(), Succeeded)
		}
	default:
		return fmt.Errorf("unknown gray operation %q", op)
	}
	return nil
}

func (op GrayOp) verb() string { return string(op) + " the gray release of" }

// snapshot is what runs of app in o's environment now.
func (s *Service) snapshot(ctx context.Context, st Store, o Order, app string) (Snapshot, error) {
	d, err := st.GetDeployment(ctx, deploy.Key{Tenant: o.Tenant, Project: o.Project, Application: app, Environment: o.Environment})
	if errors.Is(err, resource.ErrNotFound) {
		return Snapshot{Absent: true}, nil
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("deployment of %s: %w", app, err)
	}
	return Snapshot{Version: d.Version, Replicas: d.Replicas, Stopped: d.Stopped}, nil
}
