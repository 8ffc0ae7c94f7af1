package manifest

import (
	"fmt"

	"berth.dev/berth/internal/netasset"
	"berth.dev/berth/internal/resource"
)

// The network-asset kinds (F8).
const (
	// KindPortPool sets a cluster's node-port pool; metadata.name is the
	// cluster.
	KindPortPool Kind = "PortPool"
	// KindPortGrant gives a tenant (metadata.tenant) ports of a cluster's
	// pool, or a project (metadata.project too) ports of its tenant's.
	KindPortGrant Kind = "PortGrant"
	// KindNetworkIsolation sets the isolation of a tenant or project.
	KindNetworkIsolation Kind = "NetworkIsolation"
)

// PortPoolSpec is a cluster's pool as compact ranges: "30000-32767".
type PortPoolSpec struct {
	Ports string `json:"ports"`
}

// PortGrantSpec is the ports of Cluster granted, as compact ranges.
type PortGrantSpec struct {
	Cluster string `json:"cluster"`
	Ports   string `json:"ports"`
}

// NetworkIsolationSpec is the isolation level (tenant, project,
// application, or empty for none) and the allow rules.
type NetworkIsolationSpec struct {
	Level netasset.Level   `json:"level,omitempty"`
	Allow []netasset.Allow `json:"allow,omitempty"`
}

func validateNetwork(errs *resource.Errors, spec any) {
	switch s := spec.(type) {
	case *PortPoolSpec:
		checkPorts(errs, "spec.ports", s.Ports, false)
	case *PortGrantSpec:
		errs.CheckName("spec.cluster", s.Cluster)
		checkPorts(errs, "spec.ports", s.Ports, true)
	case *NetworkIsolationSpec:
		switch s.Level {
		case netasset.LevelNone, netasset.LevelTenant, netasset.LevelProject, netasset.LevelApplication:
		default:
			errs.Add("spec.level", "must be tenant, project, application or empty (none), got %q", s.Level)
		}
		for i, r := range s.Allow {
			if r.From.Tenant == "" {
				errs.Add(fmt.Sprintf("spec.allow[%d].from.tenant", i), "must not be empty")
			}
		}
	}
}

func checkPorts(errs *resource.Errors, path, s string, emptyOK bool) {
	p, err := netasset.ParsePorts(s)
	switch {
	case err != nil:
		errs.Add(path, "%s", err.Error())
	case p.Empty() && !emptyOK:
		errs.Add(path, "must not be empty")
	}
}
