// Package gateway is the Berth gateway's traffic provider: it turns the
// traffic.Routes of an installation into one gateway.Config, which the
// server streams to every `berth gateway` (internal/gateway's Publisher).
// Upstreams are Kubernetes Services, resolved by the gateway from their
// EndpointSlices.
package gateway

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	gw "berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/traffic"
)

// Config builds the gateway configuration realising routes: one app per
// route (named by AppName), one gateway route per host and path prefix.
// Routes are sorted, so the same routes give the same configuration (and
// the publisher a no-op). It keeps none of routes.
func Config(routes []traffic.Route) (gw.Config, error) {
	routes = slices.Clone(routes)
	slices.SortFunc(routes, func(a, b traffic.Route) int {
		return cmp.Or(cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	cfg := gw.Config{Routes: []gw.Route{}, Apps: []gw.App{}}
	for _, r := range routes {
		u, err := Unit(r)
		if err != nil {
			return gw.Config{}, err
		}
		cfg.Apps = append(cfg.Apps, u.App)
		cfg.Routes = append(cfg.Routes, u.Routes...)
	}
	if err := cfg.Validate(); err != nil {
		return gw.Config{}, fmt.Errorf("gateway configuration: %w", err)
	}
	return cfg, nil
}

// Unit builds the part of the gateway configuration realising r alone:
// its app and one gateway route per host, validated on their own (names
// across routes are the caller's to check). It keeps none of r.
func Unit(r traffic.Route) (*gw.Unit, error) {
	if bad := r.SpanningBackends(); len(bad) > 0 {
		return nil, fmt.Errorf("route %s: %s names the application's Service %q, which selects every version's pods, while a gray version runs",
			AppName(r), bad[0], r.Service)
	}
	app := App(r)
	u := &gw.Unit{App: app, Routes: []gw.Route{}}
	prefix := r.PathPrefix
	if prefix == "" {
		prefix = "/"
	}
	hosts := r.Hosts
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	for i, h := range hosts {
		u.Routes = append(u.Routes, gw.Route{Name: app.Name + "#" + strconv.Itoa(i), Host: h, PathPrefix: prefix, App: app.Name})
	}
	if err := (gw.Config{Apps: []gw.App{u.App}, Routes: u.Routes}).Validate(); err != nil {
		return nil, fmt.Errorf("gateway configuration: %w", err)
	}
	return u, nil
}

// App is the gateway app of one route: stable and gray Service upstreams
// and the route's rules. Without a gray backend the rules are dropped, so
// everything goes to stable.
func App(r traffic.Route) gw.App {
	port := r.PortName
	if port == "" {
		port = strconv.Itoa(int(r.Port))
	}
	up := func(svc string) gw.Upstream {
		return gw.Upstream{Service: &gw.ServiceRef{Namespace: r.Namespace, Name: svc, Port: port}}
	}
	app := gw.App{Name: AppName(r), Stable: up(r.Stable.Service)}
	if r.Gray != nil {
		g := up(r.Gray.Service)
		app.Gray = &g
		app.Traffic = r.Rules
	}
	return app
}

// AppName is the gateway app of r's name: "<cluster>/<namespace>/<name>",
// unique across the installation since a cluster's namespace belongs to
// one environment ("<namespace>/<name>" for a route without a cluster).
// Gateway route names are the app's name with "#<host index>".
func AppName(r traffic.Route) string {
	if r.Cluster == "" {
		return r.Namespace + "/" + r.Name
	}
	return r.Cluster + "/" + r.Namespace + "/" + r.Name
}
