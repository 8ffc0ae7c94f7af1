package tenancy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// NamespaceGrant lets a tenant's environments use namespaces of one
// cluster that Berth did not create: those whose name starts with Prefix
// (when set) and those listed in Namespaces. Only a platform admin sets
// grants. Without a grant, an environment may only use a namespace that
// does not exist yet (Berth creates it, marked as the environment's) or
// one Berth created for that very environment.
type NamespaceGrant struct {
	Cluster         string    `json:"cluster"`
	Tenant          string    `json:"tenant"`
	Prefix          string    `json:"prefix,omitempty"`
	Namespaces      []string  `json:"namespaces,omitempty"`
	ResourceVersion int64     `json:"resourceVersion"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

// Covers reports whether the grant includes namespace ns.
func (g NamespaceGrant) Covers(ns string) bool {
	return (g.Prefix != "" && strings.HasPrefix(ns, g.Prefix)) || slices.Contains(g.Namespaces, ns)
}

// MaxGrantedNamespaces bounds the explicit list of one grant.
const MaxGrantedNamespaces = 500

// LiveNamespace is what a cluster says about a namespace.
type LiveNamespace struct {
	Exists bool
	// Owner is the environment ("tenant/project/environment") Berth marked
	// the namespace as used by; empty when unmarked.
	Owner string
	// CreatedByBerth says Berth created the namespace (for Owner).
	CreatedByBerth bool
	// Gateway says the namespace carries the gateway's network role, which
	// every isolated namespace accepts connections from.
	Gateway bool
}

// NamespaceInspector reads a namespace of a registered cluster (package
// kube implements it). It fails when the cluster cannot be asked.
type NamespaceInspector interface {
	InspectNamespace(ctx context.Context, cluster string, kubeconfig []byte, name string) (LiveNamespace, error)
}

// SetNamespaceInspector makes environment changes check their namespace
// on the cluster. Without one (tests without clusters) only the rules
// that need no cluster apply. Call it before the Service is used.
func (s *Service) SetNamespaceInspector(i NamespaceInspector) { s.namespaces = i }

// OwnerOf is the owner mark of environment tenant/project/env.
func OwnerOf(tenant, project, env string) string { return tenant + "/" + project + "/" + env }

// ReservedNamespace reports whether ns belongs to the cluster itself and
// may never hold an environment, whatever the grants: default, kube-*,
// openshift and openshift-*.
func ReservedNamespace(ns string) bool {
	return ns == "default" || ns == "openshift" || strings.HasPrefix(ns, "kube-") || strings.HasPrefix(ns, "openshift-")
}

// checkNamespace refuses an environment's namespace that is reserved, or
// that exists on the cluster and is neither Berth's for this environment
// nor granted to the tenant, or that another environment uses.
func (s *Service) checkNamespace(ctx context.Context, st Store, e Environment) error {
	if ReservedNamespace(e.Namespace) {
		return fieldError("namespace", "%s belongs to the cluster itself (default, kube-*, openshift-*) and cannot hold an environment", e.Namespace)
	}
	if s.namespaces == nil {
		return nil
	}
	g, err := st.GetNamespaceGrant(ctx, e.Cluster, e.Tenant)
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return err
	}
	granted := err == nil && g.Covers(e.Namespace)
	kc, err := s.Kubeconfig(ctx, st, e.Cluster)
	if err != nil {
		return err
	}
	live, err := s.namespaces.InspectNamespace(ctx, e.Cluster, kc, e.Namespace)
	if err != nil {
		return fieldError("cluster", "cannot check namespace %s on cluster %s, so it is not accepted: %v", e.Namespace, e.Cluster, err)
	}
	owner := OwnerOf(e.Tenant, e.Project, e.Name)
	switch {
	case !live.Exists:
		return nil
	case live.Owner != "" && live.Owner != owner:
		return fieldError("namespace", "%s on cluster %s is used by another environment", e.Namespace, e.Cluster)
	case live.Gateway:
		return fieldError("namespace", "%s on cluster %s is the gateway's namespace (berth.dev/network-role=gateway), which every isolated namespace trusts", e.Namespace, e.Cluster)
	case live.CreatedByBerth && live.Owner == owner, granted:
		return nil
	}
	return fieldError("namespace", "%s exists on cluster %s and Berth did not create it for this environment; a platform admin may grant it to tenant %s (berth cluster grant)", e.Namespace, e.Cluster, e.Tenant)
}

func fieldError(path, format string, args ...any) error {
	return &resource.ValidationError{Fields: []resource.FieldError{{Path: path, Reason: fmt.Sprintf(format, args...)}}}
}

func validateGrant(g NamespaceGrant) error {
	var errs resource.Errors
	errs.CheckName("cluster", g.Cluster)
	errs.CheckName("tenant", g.Tenant)
	if g.Prefix != "" {
		switch {
		case len(g.Prefix) > 40:
			errs.Add("prefix", "must be at most 40 characters, got %d", len(g.Prefix))
		case !resource.IsName(strings.TrimSuffix(g.Prefix, "-")):
			errs.Add("prefix", "must be the start of a DNS-1123 label, such as %q, got %q", "acme-", g.Prefix)
		case ReservedNamespace(g.Prefix):
			errs.Add("prefix", "%q is the cluster's own (default, kube-*, openshift-*)", g.Prefix)
		}
	}
	if len(g.Namespaces) > MaxGrantedNamespaces {
		errs.Add("namespaces", "at most %d namespaces, got %d", MaxGrantedNamespaces, len(g.Namespaces))
	}
	for i, ns := range g.Namespaces {
		path := fmt.Sprintf("namespaces[%d]", i)
		errs.CheckName(path, ns)
		if ReservedNamespace(ns) {
			errs.Add(path, "%s belongs to the cluster itself and cannot be granted", ns)
		}
	}
	if g.Prefix == "" && len(g.Namespaces) == 0 {
		errs.Add("prefix", "a grant needs a prefix or namespaces; delete the grant to take it back")
	}
	return errs.Err()
}

func grantPath(cluster, tenant string) string {
	return clusterPath(cluster) + "/namespace-grants/" + tenant
}

// SetNamespaceGrant creates or replaces the grant of g.Tenant on
// g.Cluster; g.ResourceVersion is the version read, or 0 to
// create or replace whatever is there. It
// takes back nothing already bound: environments keep their namespaces.
func (s *Service) SetNamespaceGrant(ctx context.Context, st Store, a audit.Actor, g NamespaceGrant) (NamespaceGrant, error) {
	if err := validateGrant(g); err != nil {
		return NamespaceGrant{}, err
	}
	g.Namespaces = slices.Compact(slices.Sorted(slices.Values(g.Namespaces)))
	what := "grant namespaces of cluster " + g.Cluster + " to tenant " + g.Tenant
	if _, err := st.GetCluster(ctx, g.Cluster); err != nil {
		return NamespaceGrant{}, fmt.Errorf("%s: cluster: %w", what, err)
	}
	if _, err := st.GetTenant(ctx, g.Tenant); err != nil {
		return NamespaceGrant{}, fmt.Errorf("%s: tenant: %w", what, err)
	}
	prev := g.ResourceVersion
	if prev == 0 { // create, or replace what is there
		old, err := st.GetNamespaceGrant(ctx, g.Cluster, g.Tenant)
		switch {
		case err == nil:
			prev = old.ResourceVersion
		case !errors.Is(err, resource.ErrNotFound):
			return NamespaceGrant{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	g.ResourceVersion, g.UpdatedAt = prev+1, s.now()
	if err := st.PutNamespaceGrant(ctx, g, prev); err != nil {
		return NamespaceGrant{}, fmt.Errorf("%s: %w", what, err)
	}
	return g, s.record(ctx, st, a, audit.Event{Tenant: g.Tenant, Action: "namespacegrant.set", Target: grantPath(g.Cluster, g.Tenant),
		Summary: fmt.Sprintf("granted tenant %s the namespaces of cluster %s with prefix %q and %v", g.Tenant, g.Cluster, g.Prefix, g.Namespaces)})
}

// DeleteNamespaceGrant takes a grant back; rv 0 skips the version check.
func (s *Service) DeleteNamespaceGrant(ctx context.Context, st Store, a audit.Actor, cluster, tenant string, rv int64) error {
	if err := st.DeleteNamespaceGrant(ctx, cluster, tenant, rv); err != nil {
		return fmt.Errorf("delete namespace grant of tenant %s on cluster %s: %w", tenant, cluster, err)
	}
	return s.record(ctx, st, a, audit.Event{Tenant: tenant, Action: "namespacegrant.delete", Target: grantPath(cluster, tenant),
		Summary: fmt.Sprintf("took back the namespace grant of tenant %s on cluster %s", tenant, cluster)})
}

// ListNamespaceGrants returns the grants on cluster (tenant empty) or of
// tenant (cluster empty), by cluster then tenant.
func (s *Service) ListNamespaceGrants(ctx context.Context, st Store, cluster, tenant string) ([]NamespaceGrant, error) {
	gs, err := st.ListNamespaceGrants(ctx, cluster, tenant)
	return gs, wrap("list namespace grants", err)
}
