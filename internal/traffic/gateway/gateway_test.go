package gateway

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	gw "berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/traffic"
)

func TestConfigRealisesRoutesWithServiceUpstreams(t *testing.T) {
	rules := traffic.Rules{Match: []traffic.Clause{{Headers: []traffic.Condition{{Header: "X-Org-Teller", Values: []string{"T900"}}}}}, Weight: 10}
	routes := []traffic.Route{
		{Name: "pay", Namespace: "bank-dev", Hosts: []string{"pay.bank-dev"}, Service: "pay", Port: 8080, PortName: "http",
			Stable: traffic.Backend{Version: "v1", Service: "pay--v1"}, Gray: &traffic.Backend{Version: "v2", Service: "pay--v2"}, Rules: rules},
		{Name: "auth", Namespace: "bank-dev", Hosts: []string{"auth.bank-dev"}, Service: "auth", Port: 9090,
			Stable: traffic.Backend{Version: "v1", Service: "auth"}, Rules: rules},
	}
	cfg, err := Config(routes)
	if err != nil {
		t.Fatal(err)
	}
	svc := func(name, port string) gw.Upstream {
		return gw.Upstream{Service: &gw.ServiceRef{Namespace: "bank-dev", Name: name, Port: port}}
	}
	gray := svc("pay--v2", "http")
	want := gw.Config{
		Routes: []gw.Route{
			{Name: "bank-dev/auth#0", Host: "auth.bank-dev", PathPrefix: "/", App: "bank-dev/auth"},
			{Name: "bank-dev/pay#0", Host: "pay.bank-dev", PathPrefix: "/", App: "bank-dev/pay"},
		},
		Apps: []gw.App{
			{Name: "bank-dev/auth", Stable: svc("auth", "9090")}, // no gray: its rules are dropped
			{Name: "bank-dev/pay", Stable: svc("pay--v1", "http"), Gray: &gray, Traffic: rules},
		},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Fatalf("config (-want +got):\n%s", diff)
	}
	again, err := Config([]traffic.Route{routes[1], routes[0]})
	if err != nil || !cmp.Equal(cfg, again) {
		t.Fatalf("the same routes in another order gave another configuration: %v", err)
	}
}

func TestConfigRefusesRoutesTheGatewayWouldReject(t *testing.T) {
	bad := traffic.Route{Name: "pay", Namespace: "bank-dev", Service: "pay", Port: 8080,
		Stable: traffic.Backend{Service: "pay--v1"}, Gray: &traffic.Backend{Service: "pay--v2"}, Rules: traffic.Rules{Weight: 101}}
	if _, err := Config([]traffic.Route{bad}); err == nil {
		t.Fatal("a weight of 101 was accepted")
	}
}

func TestConfigNamesAppsAndRoutesByCluster(t *testing.T) {
	route := func(cluster string) traffic.Route {
		return traffic.Route{Name: "pay", Namespace: "bank", Cluster: cluster, Hosts: []string{"pay.bank"}, Service: "pay", Port: 8080,
			Stable: traffic.Backend{Version: "v1", Service: "pay"}}
	}
	cfg, err := Config([]traffic.Route{route("west"), route("east")})
	if err != nil {
		t.Fatalf("two clusters with the same namespace and application: %v", err)
	}
	var names []string
	for _, a := range cfg.Apps {
		names = append(names, a.Name)
	}
	for _, r := range cfg.Routes {
		names = append(names, r.Name)
	}
	if want := []string{"east/bank/pay", "west/bank/pay", "east/bank/pay#0", "west/bank/pay#0"}; !cmp.Equal(want, names) {
		t.Fatalf("names %v, want %v", names, want)
	}
}

func TestConfigRefusesAGrayRouteThroughTheApplicationsService(t *testing.T) {
	r := traffic.Route{Name: "pay", Namespace: "bank-dev", Service: "pay", Port: 8080,
		Stable: traffic.Backend{Version: "v1", Service: "pay"}, Gray: &traffic.Backend{Version: "v2", Service: "pay--v2"}}
	if _, err := Config([]traffic.Route{r}); err == nil || !strings.Contains(err.Error(), "selects every version") {
		t.Fatalf("stable through the application's Service beside gray: %v", err)
	}
}
