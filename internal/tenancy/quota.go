package tenancy

import (
	"context"
	"errors"
	"fmt"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

func validateQuota(q Quota) error {
	var errs resource.Errors
	errs.CheckName("scope.tenant", q.Scope.Tenant)
	if q.Scope.Project != "" {
		errs.CheckName("scope.project", q.Scope.Project)
	}
	q.Hard.Validate(&errs, "hard")
	errs.CheckNonNegative("resourceVersion", q.ResourceVersion)
	return errs.Err()
}

// SetQuota creates (q.ResourceVersion 0) or replaces the quota of a tenant
// or project. It refuses, with *resource.QuotaExceededError, a limit below
// what the scope already uses, project quotas that would sum above their
// tenant's, and a tenant quota below the sum of its projects' quotas.
func (s *Service) SetQuota(ctx context.Context, st Store, a audit.Actor, q Quota) (Quota, error) {
	if err := validateQuota(q); err != nil {
		return Quota{}, err
	}
	what := "set quota of " + q.Scope.String()
	if err := st.LockTenant(ctx, q.Scope.Tenant); err != nil {
		return Quota{}, fmt.Errorf("%s: tenant %s: %w", what, q.Scope.Tenant, err)
	}
	if err := checkScope(ctx, st, q.Scope); err != nil {
		return Quota{}, fmt.Errorf("%s: %w", what, err)
	}
	if err := s.checkQuota(ctx, st, q); err != nil {
		return Quota{}, fmt.Errorf("%s: %w", what, err)
	}
	prev := q.ResourceVersion
	q.ResourceVersion, q.UpdatedAt = prev+1, s.now()
	if err := st.PutQuota(ctx, q, prev); err != nil {
		return Quota{}, fmt.Errorf("%s: %w", what, err)
	}
	return q, s.record(ctx, st, a, audit.Event{Tenant: q.Scope.Tenant, Project: q.Scope.Project, Action: "quota.set",
		Target: scopePath(q.Scope) + "/quota", Summary: fmt.Sprintf("set quota of %s to %s", q.Scope, formatList(q.Hard))})
}

func (s *Service) checkQuota(ctx context.Context, st Store, q Quota) error {
	used, err := st.SumReservations(ctx, q.Scope.Tenant, q.Scope.Project)
	if err != nil {
		return fmt.Errorf("usage: %w", err)
	}
	for _, n := range q.Hard.Names() {
		if used[n] > q.Hard[n] {
			return &resource.QuotaExceededError{Scope: q.Scope.String(), Resource: n, Requested: q.Hard[n],
				Used: used[n], Limit: q.Hard[n], Reason: "the new limit is below current usage"}
		}
	}
	siblings, err := st.ListProjectQuotas(ctx, q.Scope.Tenant)
	if err != nil {
		return fmt.Errorf("project quotas: %w", err)
	}
	if q.Scope.Project == "" {
		allotted := sumQuotas(siblings, "")
		for _, n := range q.Hard.Names() {
			if allotted[n] > q.Hard[n] {
				return &resource.QuotaExceededError{Scope: q.Scope.String(), Resource: n, Requested: q.Hard[n],
					Used: allotted[n], Limit: q.Hard[n], Reason: "the tenant quota would be below the sum of its projects' quotas"}
			}
		}
		return nil
	}
	tq, err := st.GetQuota(ctx, Scope{Tenant: q.Scope.Tenant})
	if errors.Is(err, resource.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tenant quota: %w", err)
	}
	others := sumQuotas(siblings, q.Scope.Project)
	for _, n := range tq.Hard.Names() {
		if v, ok := q.Hard[n]; ok && others[n]+v > tq.Hard[n] {
			return &resource.QuotaExceededError{Scope: "tenant " + q.Scope.Tenant, Resource: n, Requested: v,
				Used: others[n], Limit: tq.Hard[n], Reason: "project quotas would sum above the tenant's"}
		}
	}
	return nil
}

// sumQuotas adds up the quotas, skipping project skip.
func sumQuotas(qs []Quota, skip string) resource.List {
	sum := resource.List{}
	for _, q := range qs {
		if q.Scope.Project != skip {
			sum = sum.Add(q.Hard)
		}
	}
	return sum
}

func formatList(l resource.List) string {
	out := ""
	for i, n := range l.Names() {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s=%s", n, l[n])
	}
	if out == "" {
		return "no limits"
	}
	return out
}

// DeleteQuota removes a quota: the scope becomes unlimited (within its
// tenant's quota). rv 0 skips the version check.
func (s *Service) DeleteQuota(ctx context.Context, st Store, a audit.Actor, sc Scope, rv int64) error {
	if err := st.DeleteQuota(ctx, sc, rv); err != nil {
		return fmt.Errorf("delete quota of %s: %w", sc, err)
	}
	return s.record(ctx, st, a, audit.Event{Tenant: sc.Tenant, Project: sc.Project, Action: "quota.delete",
		Target: scopePath(sc) + "/quota", Summary: fmt.Sprintf("deleted quota of %s", sc)})
}

// GetQuota returns the quota of a tenant or project.
func (s *Service) GetQuota(ctx context.Context, st Store, sc Scope) (Quota, error) {
	q, err := st.GetQuota(ctx, sc)
	return q, wrap("get quota of "+sc.String(), err)
}

// Usage returns what a tenant or project uses against its quota and, for a
// tenant, how much of it is allotted to projects.
func (s *Service) Usage(ctx context.Context, st Store, sc Scope) (Usage, error) {
	if err := checkScope(ctx, st, sc); err != nil {
		return Usage{}, fmt.Errorf("usage of %s: %w", sc, err)
	}
	used, err := st.SumReservations(ctx, sc.Tenant, sc.Project)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %s: %w", sc, err)
	}
	u := Usage{Scope: sc, Used: used}
	q, err := st.GetQuota(ctx, sc)
	switch {
	case err == nil:
		u.Hard = q.Hard
	case !errors.Is(err, resource.ErrNotFound):
		return Usage{}, fmt.Errorf("quota of %s: %w", sc, err)
	}
	if sc.Kind() == "tenant" {
		qs, err := st.ListProjectQuotas(ctx, sc.Tenant)
		if err != nil {
			return Usage{}, fmt.Errorf("project quotas of %s: %w", sc, err)
		}
		u.Allotted = sumQuotas(qs, "")
	}
	return u, nil
}

// MaxReservation bounds what one application may reserve of any resource
// (2^56 thousandths: 72 PB of memory, 72 trillion cores), whatever the
// quotas, so the sums of reservations cannot overflow.
const MaxReservation resource.Quantity = 1 << 56

// Reserve records what an application holds, replacing what it held, after
// checking that the increase fits its project's and its tenant's quota
// (else *resource.QuotaExceededError with the numbers). Decreases always
// pass. The tenant is locked for the rest of the transaction.
func (s *Service) Reserve(ctx context.Context, st Store, r Reservation) error {
	if err := st.LockTenant(ctx, r.Tenant); err != nil {
		return fmt.Errorf("reserve for %s/%s/%s: tenant %s: %w", r.Tenant, r.Project, r.Application, r.Tenant, err)
	}
	for _, n := range r.Resources.Names() {
		if r.Resources[n] > MaxReservation {
			return &resource.QuotaExceededError{Scope: "application " + r.Tenant + "/" + r.Project + "/" + r.Application,
				Resource: n, Requested: r.Resources[n], Limit: MaxReservation, Reason: "one application may reserve at most this much"}
		}
	}
	old, err := st.GetReservation(ctx, r.Tenant, r.Project, r.Application)
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return fmt.Errorf("reservation of %s/%s/%s: %w", r.Tenant, r.Project, r.Application, err)
	}
	delta := r.Resources.Sub(old.Resources)
	for _, sc := range []Scope{{Tenant: r.Tenant, Project: r.Project}, {Tenant: r.Tenant}} {
		if err := s.admit(ctx, st, sc, delta); err != nil {
			return err
		}
	}
	if err := st.PutReservation(ctx, r); err != nil {
		return fmt.Errorf("reserve for %s/%s/%s: %w", r.Tenant, r.Project, r.Application, err)
	}
	return nil
}

func (s *Service) admit(ctx context.Context, st Store, sc Scope, delta resource.List) error {
	q, err := st.GetQuota(ctx, sc)
	if errors.Is(err, resource.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quota of %s: %w", sc, err)
	}
	used, err := st.SumReservations(ctx, sc.Tenant, sc.Project)
	if err != nil {
		return fmt.Errorf("usage of %s: %w", sc, err)
	}
	for _, n := range q.Hard.Names() {
		if d := delta[n]; d > 0 && used[n]+d > q.Hard[n] {
			return &resource.QuotaExceededError{Scope: sc.String(), Resource: n, Requested: d, Used: used[n], Limit: q.Hard[n]}
		}
	}
	return nil
}

// Release drops an application's reservation.
func (s *Service) Release(ctx context.Context, st Store, tenant, project, app string) error {
	return wrap("release "+tenant+"/"+project+"/"+app, st.DeleteReservation(ctx, tenant, project, app))
}
