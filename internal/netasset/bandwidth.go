package netasset

import (
	"context"
	"errors"
	"fmt"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// BandwidthView is a tenant's or project's bandwidth: the limits of its
// quota (zero: unlimited), what its applications use (instances ×
// per-instance bandwidth, autoscaling maximums counted) and, for a
// tenant, what it has allotted to its projects. Bits per second.
type BandwidthView struct {
	Tenant   string         `json:"tenant"`
	Project  string         `json:"project,omitempty"`
	Limit    apps.Bandwidth `json:"limit"`
	Used     apps.Bandwidth `json:"used"`
	Allotted apps.Bandwidth `json:"allotted,omitzero"`
}

func bandwidthOf(l resource.List) apps.Bandwidth {
	return apps.Bandwidth{Ingress: l[resource.IngressBandwidth], Egress: l[resource.EgressBandwidth]}
}

// Bandwidth returns the bandwidth view of a tenant or project. Bandwidth
// quotas are the ingressBandwidth and egressBandwidth resources of the
// tenancy quota, so they nest and are refused with numbers like the rest.
func (s *Service) Bandwidth(ctx context.Context, st Store, sc tenancy.Scope) (BandwidthView, error) {
	u, err := s.tenancy.Usage(ctx, st, sc)
	if err != nil {
		return BandwidthView{}, err
	}
	return BandwidthView{Tenant: sc.Tenant, Project: sc.Project, Limit: bandwidthOf(u.Hard), Used: bandwidthOf(u.Used),
		Allotted: bandwidthOf(u.Allotted)}, nil
}

// SetBandwidth sets the bandwidth limits of a tenant's or project's quota,
// keeping its other limits; a zero direction removes that limit. It is
// refused, with the numbers, below current use or outside the tenant's.
func (s *Service) SetBandwidth(ctx context.Context, st Store, a audit.Actor, sc tenancy.Scope, limit apps.Bandwidth) (BandwidthView, error) {
	var errs resource.Errors
	errs.CheckNonNegative("ingress", int64(limit.Ingress))
	errs.CheckNonNegative("egress", int64(limit.Egress))
	if err := errs.Err(); err != nil {
		return BandwidthView{}, err
	}
	q, err := st.GetQuota(ctx, sc)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		q = tenancy.Quota{Scope: sc}
	case err != nil:
		return BandwidthView{}, fmt.Errorf("bandwidth of %s: %w", sc, err)
	}
	hard := resource.List{}
	for n, v := range q.Hard {
		hard[n] = v
	}
	for n, v := range map[resource.Name]resource.Quantity{resource.IngressBandwidth: limit.Ingress, resource.EgressBandwidth: limit.Egress} {
		if v == 0 {
			delete(hard, n)
		} else {
			hard[n] = v
		}
	}
	q.Hard = hard
	if _, err := s.tenancy.SetQuota(ctx, st, a, q); err != nil {
		return BandwidthView{}, err
	}
	return s.Bandwidth(ctx, st, sc)
}
