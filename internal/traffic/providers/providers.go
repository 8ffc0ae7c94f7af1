// Package providers is the registry of traffic providers: what an
// environment's `traffic` field may name, and how each realises a gray
// plan's route. The controllers look a provider up here instead of
// switching on names and API groups, so adding a provider is one entry.
package providers

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/tenancy"
	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/gatewayapi"
	"berth.dev/berth/internal/traffic/istio"
)

// Provider realises traffic.Routes on one kind of traffic layer.
type Provider struct {
	// Name is the value of an environment's `traffic` field.
	Name string
	// Published providers get their routes compiled into the Berth
	// gateway's configuration, which is streamed to every `berth gateway`
	// (internal/traffic/gateway); nothing is applied to the cluster.
	Published bool
	// Render returns the cluster objects that realise a route, in the
	// order they must be applied (nil for a published provider).
	Render func(traffic.Route) ([]*unstructured.Unstructured, error)
	// Groups are the API groups of the objects Render returns: such
	// objects in an inventory are routes, applied before the workloads
	// and only where Berth owns them.
	Groups []string
}

// Default is the provider of an environment that names none.
const Default = tenancy.TrafficGateway

// all are the providers, by name.
var all = []Provider{
	{Name: tenancy.TrafficGateway, Published: true},
	{Name: tenancy.TrafficIstio, Render: istio.Render, Groups: []string{"networking.istio.io"}},
	{Name: tenancy.TrafficGatewayAPI, Render: gatewayapi.Render, Groups: []string{"gateway.networking.k8s.io"}},
}

// Names are the providers' names, in registry order.
func Names() []string {
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the provider called name ("" is Default).
func Lookup(name string) (Provider, error) {
	if name == "" {
		name = Default
	}
	for _, p := range all {
		if p.Name == name {
			return p, nil
		}
	}
	return Provider{}, fmt.Errorf("unknown traffic provider %q", name)
}

// IsRoute reports whether an object of API group belongs to some
// provider's routes.
func IsRoute(group string) bool {
	for _, p := range all {
		if slices.Contains(p.Groups, group) {
			return true
		}
	}
	return false
}
