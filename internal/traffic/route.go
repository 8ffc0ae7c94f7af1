package traffic

// Route is what a traffic provider (the Berth gateway, Istio, Gateway API)
// is asked to realise for one application in one environment: requests for
// Hosts and PathPrefix go to Stable or Gray as Rules decide.
//
// Stable and gray run as separate Deployments, each with its own Service
// (Stable.Service, Gray.Service). Service is the application's Service that
// selects the pods of both versions; providers that split by subset (Istio
// DestinationRule subsets keyed by the version label) route to it, the
// others route to the per-version Services.
type Route struct {
	// Name is the application's name; providers name their objects after it.
	Name string `json:"name"`
	// Namespace is the environment's namespace, where every Service lives.
	Namespace string `json:"namespace"`
	// Cluster is the registered cluster the environment runs on. Providers
	// that serve several clusters from one configuration (the Berth
	// gateway) put it in every name, since two clusters may each have a
	// namespace of the same name with an application of the same name.
	Cluster string `json:"cluster,omitempty"`
	// Hosts are the host names the route answers; empty means any host for
	// providers that allow it.
	Hosts []string `json:"hosts,omitempty"`
	// PathPrefix starts with "/"; "" means "/". It matches whole path
	// segments: "/api" matches "/api" and "/api/x" but not "/apix".
	PathPrefix string `json:"pathPrefix,omitempty"`
	// Gateway is the ingress gateway the route attaches to, "name" or
	// "namespace/name" (the namespace defaults to Namespace). The Gateway
	// API provider requires it (the HTTPRoute's parent); the Istio provider
	// binds the VirtualService to that Istio Gateway as well as to the mesh
	// when it is set, and to the mesh alone when it is empty.
	Gateway string `json:"gateway,omitempty"`
	// Service selects every version's pods (by the application label). It
	// is the host clients call; providers never send requests to it while
	// a second version runs, only to Stable.Service and Gray.Service (or,
	// for Istio, to subsets keyed by the version label).
	Service string `json:"service"`
	// Port is the Service port the application serves on.
	Port int32 `json:"port"`
	// PortName names that port; versions may serve it on different
	// numbers, so providers that route to per-version Services use the
	// name when it is set.
	PortName string `json:"portName,omitempty"`
	// Stable is the version serving production traffic.
	Stable Backend `json:"stable"`
	// Gray is the version under release; nil when there is none, and then
	// everything goes to Stable whatever Rules say.
	Gray *Backend `json:"gray,omitempty"`
	// Rules decide stable or gray per request.
	Rules Rules `json:"rules"`
	// Labels are put on every object a provider writes, so Berth can tell
	// its own objects from a user's. The provider does not keep the map.
	Labels map[string]string `json:"labels,omitempty"`
}

// Backend is one version of an application.
type Backend struct {
	// Version is the application version's name; the pods of that version
	// carry it in the version label.
	Version string `json:"version"`
	// Service is the Service that selects only this version's pods.
	Service string `json:"service"`
}

// SpanningBackends lists the backends ("stable", "gray") of a route with a
// gray version that name the application's Service: that Service selects
// the pods of every version, so a request sent to it may reach either.
// A route with a gray version must name only per-version Services.
func (r Route) SpanningBackends() []string {
	if r.Gray == nil {
		return nil
	}
	var out []string
	if r.Stable.Service == r.Service {
		out = append(out, "stable")
	}
	if r.Gray.Service == r.Service {
		out = append(out, "gray")
	}
	return out
}
