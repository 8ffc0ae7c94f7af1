package gray

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/traffic"
)

// ServiceName is the name of the Service (and, for a second version, the
// Deployment) Berth runs for one version of an application beside its main
// objects: "<app>--<version>", shortened with a hash past 63 characters.
func ServiceName(app, version string) string {
	name := app + "--" + version
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(app + "/" + version))
	h := hex.EncodeToString(sum[:])[:10]
	keep := 63 - len(h) - 2
	if len(app) > keep {
		return app[:keep] + "--" + h
	}
	return name[:keep] + "-" + "-" + h
}

// Target is one deployment as traffic providers see it.
type Target struct {
	Deployment deploy.Deployment
	// Version is the deployment's version (for its ports).
	Version apps.Version
	// Plan is the application's latest gray plan in the environment, or nil.
	Plan *Plan
	// Namespace is the environment's namespace.
	Namespace string
	// Gateway is the environment's ingress gateway for mesh providers.
	Gateway string
	// Cluster is the environment's cluster.
	Cluster string
}

// Follows reports whether the plan still describes t's deployment: its
// current stable version is the one deployed. A plan overtaken by a plain
// deploy of another version no longer routes.
func (t Target) Follows() bool {
	return t.Plan != nil && t.Plan.CurrentStable() == t.Deployment.Version
}

// Route is what providers realise for t, or false when t serves no port.
// While a plan follows the deployment, stable and gray are the per-version
// Services (ServiceName): gray once it serves (Applied.Serving), stable once
// it serves or as soon as a second version may run (SecondVersionRuns), so
// the application's Service, which selects every version's pods, is named
// only while one version runs. Without a plan that follows, stable is the
// application's Service and there is no gray.
// The route answers the host "<app>.<namespace>" on every path.
func Route(t Target, h Headers) (traffic.Route, bool) {
	d := t.Deployment
	if d.Deleting || len(t.Version.Orchestration.Ports) == 0 {
		return traffic.Route{}, false
	}
	port := t.Version.Orchestration.Ports[0]
	r := traffic.Route{
		Name: d.Application, Namespace: t.Namespace, Cluster: t.Cluster,
		Hosts: []string{d.Application + "." + t.Namespace}, Gateway: t.Gateway,
		Service: d.Application, Port: port.ContainerPort, PortName: port.Name,
		Stable: traffic.Backend{Version: d.Version, Service: d.Application},
		Labels: map[string]string{"berth.dev/tenant": d.Tenant, "berth.dev/project": d.Project,
			"berth.dev/environment": d.Environment, "berth.dev/app": d.Application},
	}
	if !t.Follows() {
		return r, true
	}
	a := t.Plan.Applied
	if !slices.Contains(a.Serving, d.Version) && !a.SecondVersionRuns() {
		return r, true
	}
	r.Stable.Service = ServiceName(d.Application, d.Version)
	if other := t.Plan.Other(); other != "" && slices.Contains(a.Serving, other) {
		r.Gray = &traffic.Backend{Version: other, Service: ServiceName(d.Application, other)}
		r.Rules = t.Plan.Rules(h)
	}
	return r, true
}

// SecondVersionRuns reports whether the inventory of the last apply holds a
// Deployment: the second copy of a version beside the application's main
// Deployment (gray, the old version kept, or a copy kept while the main
// Deployment rolls). Until it is pruned, pods of more than one version may
// run, and the application's Service selects them all.
func (a Applied) SecondVersionRuns() bool {
	var inv []struct {
		Kind string `json:"kind"`
	}
	if len(a.Inventory) == 0 || json.Unmarshal(a.Inventory, &inv) != nil {
		return len(a.Inventory) > 0 // unreadable: assume the worst
	}
	for _, o := range inv {
		if o.Kind == "Deployment" {
			return true
		}
	}
	return false
}
