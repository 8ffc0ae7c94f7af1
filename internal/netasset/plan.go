package netasset

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// NamespacePolicy is what one environment's namespace enforces: its
// project's effective isolation level, the allow rules that reach into it
// and the ports exposed on node ports (open to every source, as a node
// port is). internal/kube renders it as NetworkPolicies.
type NamespacePolicy struct {
	Cluster   string
	Namespace string
	Tenant    string
	Project   string
	// Environment is the environment the namespace belongs to.
	Environment string
	Level       Level
	// Apps are the project's applications, each isolated on its own at
	// LevelApplication.
	Apps    []string
	Allows  []Allow
	Exposed []ExposedPort
	// GatewayCIDRs are where a gateway outside the cluster connects from
	// (the cluster's GatewayCIDRsLabel); always allowed like the gateway
	// namespaces.
	GatewayCIDRs []string
}

// GatewayCIDRsLabel is the cluster label listing, comma-separated, the
// address ranges of gateways that run outside the cluster (such as
// `berth gateway` on its own hosts): "192.0.2.0/24,198.51.100.7/32".
const GatewayCIDRsLabel = "berth.dev/gateway-cidrs"

// gatewayCIDRs reads a cluster's GatewayCIDRsLabel; a malformed range is
// an error naming it, so isolation never silently shuts the gateway out.
func gatewayCIDRs(labels map[string]string) ([]string, error) {
	v := strings.TrimSpace(labels[GatewayCIDRsLabel])
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, c := range strings.Split(v, ",") {
		c = strings.TrimSpace(c)
		if _, _, err := net.ParseCIDR(c); err != nil {
			return nil, fmt.Errorf("cluster label %s: %q is not an address range such as 192.0.2.0/24", GatewayCIDRsLabel, c)
		}
		out = append(out, c)
	}
	return out, nil
}

// ExposedPort is a container port reached through a node port.
type ExposedPort struct {
	Application   string
	ContainerPort int32
	Protocol      string // TCP or UDP
}

// Effective combines a tenant's and a project's records (either may be
// the zero value): the finer level, both records' allows.
func Effective(tenant, project Isolation) (Level, []Allow) {
	var allows []Allow
	for _, r := range tenant.Allow {
		if r.To.Project == "" || r.To.Project == project.Project {
			allows = append(allows, r)
		}
	}
	return tenant.Level.Finer(project.Level), append(allows, project.Allow...)
}

// Plan returns the policy of every environment namespace on cluster, by
// tenant, project and environment.
func (s *Service) Plan(ctx context.Context, st Store, cluster string) ([]NamespacePolicy, error) {
	cl, err := st.GetCluster(ctx, cluster)
	if err != nil {
		return nil, fmt.Errorf("plan policies of %s: %w", cluster, err)
	}
	cidrs, err := gatewayCIDRs(cl.Labels)
	if err != nil {
		return nil, fmt.Errorf("plan policies of %s: %w", cluster, err)
	}
	tenants, err := all(func(after string, limit int) ([]tenancy.Tenant, error) { return st.ListTenants(ctx, after, limit) },
		func(t tenancy.Tenant) string { return t.Name })
	if err != nil {
		return nil, fmt.Errorf("plan policies of %s: %w", cluster, err)
	}
	var out []NamespacePolicy
	for _, t := range tenants {
		nps, err := s.planTenant(ctx, st, cluster, t.Name)
		if err != nil {
			return nil, fmt.Errorf("plan policies of %s: tenant %s: %w", cluster, t.Name, err)
		}
		for i := range nps {
			nps[i].GatewayCIDRs = cidrs
		}
		out = append(out, nps...)
	}
	return out, nil
}

func (s *Service) planTenant(ctx context.Context, st Store, cluster, tenant string) ([]NamespacePolicy, error) {
	trec, err := record(ctx, st, tenant, "")
	if err != nil {
		return nil, err
	}
	projects, err := all(func(after string, limit int) ([]tenancy.Project, error) {
		return st.ListProjects(ctx, tenant, after, limit)
	},
		func(p tenancy.Project) string { return p.Name })
	if err != nil {
		return nil, err
	}
	var out []NamespacePolicy
	for _, p := range projects {
		envs, err := all(func(after string, limit int) ([]tenancy.Environment, error) {
			return st.ListEnvironments(ctx, tenant, p.Name, after, limit)
		}, func(e tenancy.Environment) string { return e.Name })
		if err != nil {
			return nil, err
		}
		var here []tenancy.Environment
		for _, e := range envs {
			if e.Cluster == cluster {
				here = append(here, e)
			}
		}
		if len(here) == 0 {
			continue
		}
		prec, err := record(ctx, st, tenant, p.Name)
		if err != nil {
			return nil, err
		}
		level, allows := Effective(trec, prec)
		apps, err := all(func(after string, limit int) ([]string, error) {
			as, err := st.ListApplications(ctx, tenant, p.Name, after, limit)
			names := make([]string, len(as))
			for i, a := range as {
				names[i] = a.Name
			}
			return names, err
		}, func(n string) string { return n })
		if err != nil {
			return nil, err
		}
		for _, e := range here {
			exposed, err := exposedPorts(ctx, st, cluster, tenant, p.Name, e.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, NamespacePolicy{Cluster: cluster, Namespace: e.Namespace, Tenant: tenant, Project: p.Name, Environment: e.Name,
				Level: level, Apps: apps, Allows: allows, Exposed: exposed})
		}
	}
	return out, nil
}

func record(ctx context.Context, st Store, tenant, project string) (Isolation, error) {
	r, err := st.GetIsolation(ctx, tenant, project)
	if errors.Is(err, resource.ErrNotFound) {
		return Isolation{Tenant: tenant, Project: project}, nil
	}
	return r, err
}

// exposedPorts resolves the node-port allocations of an environment to the
// container ports of the versions deployed there.
func exposedPorts(ctx context.Context, st Store, cluster, tenant, project, env string) ([]ExposedPort, error) {
	held, err := st.ListAllocations(ctx, AllocationFilter{Cluster: cluster, Tenant: tenant, Project: project, Environment: env})
	if err != nil || len(held) == 0 {
		return nil, err
	}
	var out []ExposedPort
	for _, al := range held {
		d, err := st.GetDeployment(ctx, deploy.Key{Tenant: tenant, Project: project, Application: al.Application, Environment: env})
		if err != nil {
			return nil, fmt.Errorf("deployment of %s: %w", al.Holder(), err)
		}
		v, err := st.GetVersion(ctx, tenant, project, al.Application, d.Version)
		if err != nil {
			return nil, fmt.Errorf("version of %s: %w", al.Holder(), err)
		}
		for _, p := range v.Orchestration.Ports {
			if p.Name == al.PortName {
				proto := p.Protocol
				if proto == "" {
					proto = "TCP"
				}
				out = append(out, ExposedPort{Application: al.Application, ContainerPort: p.ContainerPort, Protocol: proto})
			}
		}
	}
	return out, nil
}

// all pages through a store list.
func all[T any](list func(after string, limit int) ([]T, error), key func(T) string) ([]T, error) {
	const page = 500
	var out []T
	after := ""
	for {
		items, err := list(after, page)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) < page {
			return out, nil
		}
		after = key(items[len(items)-1])
	}
}
