package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/gateway"
	"berth.dev/berth/internal/traffic"
)

func TestRoutingTable(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		auth, shop, api, fallback := newBackend(t, "auth"), newBackend(t, "shop"), newBackend(t, "api"), newBackend(t, "fallback")
		up := func(b *backend) gateway.Upstream { return gateway.Upstream{Addresses: []string{b.addr()}} }
		cfg := gateway.Config{
			Routes: []gateway.Route{
				{Name: "fallback", PathPrefix: "/", App: "fallback"},
				{Name: "auth", Host: "bank.example", PathPrefix: "/auth", StripPrefix: true, App: "auth"},
				{Name: "shop", Host: "*.shop.example", PathPrefix: "/", App: "shop"},
				{Name: "api", PathPrefix: "/api/", App: "api"},
				{Name: "api-v2", Host: "bank.example", PathPrefix: "/api/v2", App: "shop"},
			},
			Apps: []gateway.App{
				{Name: "auth", Stable: up(auth)}, {Name: "shop", Stable: up(shop)},
				{Name: "api", Stable: up(api)}, {Name: "fallback", Stable: up(fallback)},
			},
		}
		h := startGateway(t, &cfg, fe)
		tests := []struct {
			name string
			host string
			path string
			want string
		}{
			{"an exact host and prefix route strips the prefix", "bank.example", "/auth/login", "auth /login"},
			{"the prefix alone is matched and stripped to /", "bank.example", "/auth", "auth /"},
			{"a prefix matches whole path segments only", "bank.example", "/authx", "fallback /authx"},
			{"host match ignores case and port", "BANK.example:8443", "/auth/x", "auth /x"},
			{"a wildcard host matches a subdomain", "wealth.shop.example", "/cart", "shop /cart"},
			{"a wildcard host does not match its own apex", "shop.example", "/cart", "fallback /cart"},
			{"the longest prefix wins among routes of one host", "bank.example", "/api/v2/accounts", "shop /api/v2/accounts"},
			{"an exact host route wins over any-host routes", "bank.example", "/", "fallback /"},
			{"any-host routes serve other hosts", "other.example", "/api/v1", "api /api/v1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got := h.get(t, tt.path, map[string]string{"Host": tt.host})
				if got.code != http.StatusOK || got.body != tt.want {
					t.Errorf("GET %s%s = %d %q, want 200 %q", tt.host, tt.path, got.code, got.body, tt.want)
				}
			})
		}
	})
}

func TestNoRouteIs404AndNoConfigIs503(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		h := startGateway(t, nil, fe)
		if got := h.get(t, "/", nil); got.code != http.StatusServiceUnavailable {
			t.Errorf("before any configuration: %d, want 503", got.code)
		}
		b := newBackend(t, "b")
		cfg := simple(b.addr(), "", func(c *gateway.Config) { c.Routes[0].PathPrefix = "/only" })
		if _, err := h.gw.Load(cfg); err != nil {
			t.Fatal(err)
		}
		if got := h.get(t, "/elsewhere", nil); got.code != http.StatusNotFound {
			t.Errorf("unrouted path: %d, want 404", got.code)
		}
	})
}

func TestGrayDecisions(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		stable, gray := newBackend(t, "stable"), newBackend(t, "gray")
		pilot := []traffic.Clause{
			{Headers: []traffic.Condition{{Header: "X-Org-Region", Values: []string{"north"}}, {Header: "X-Org-Branch", Values: []string{"0101", "0102"}}}},
			{Headers: []traffic.Condition{{Header: "X-Org-Teller", Values: []string{"T900"}}}},
		}
		tests := []struct {
			name    string
			rules   traffic.Rules
			noGray  bool
			draw    int
			headers map[string]string
			want    string
		}{
			{"a pilot teller goes to gray", traffic.Rules{Match: pilot}, false, 99, map[string]string{"X-Org-Teller": "T900"}, "gray"},
			{"a pilot branch in its region goes to gray", traffic.Rules{Match: pilot}, false, 99,
				map[string]string{"X-Org-Region": "north", "X-Org-Branch": "0102"}, "gray"},
			{"the same branch number in another region stays stable", traffic.Rules{Match: pilot}, false, 0,
				map[string]string{"X-Org-Region": "south", "X-Org-Branch": "0102"}, "stable"},
			{"a draw under the weight goes to gray", traffic.Rules{Match: pilot, Weight: 20}, false, 19, nil, "gray"},
			{"a draw at the weight stays stable", traffic.Rules{Match: pilot, Weight: 20}, false, 20, nil, "stable"},
			{"blue-green gray sends all to gray", traffic.Rules{BlueGreen: "gray"}, false, 99, nil, "gray"},
			{"blue-green stable overrides the clauses", traffic.Rules{BlueGreen: "stable", Match: pilot}, false, 0,
				map[string]string{"X-Org-Teller": "T900"}, "stable"},
			{"without a gray version everything is stable", traffic.Rules{BlueGreen: "gray"}, true, 0, nil, "stable"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				grayAddr := gray.addr()
				if tt.noGray {
					grayAddr = ""
				}
				cfg := simple(stable.addr(), grayAddr, func(c *gateway.Config) { c.Apps[0].Traffic = tt.rules })
				h := startGateway(t, &cfg, fe, withRand(tt.draw))
				got := h.get(t, "/x", tt.headers)
				if !strings.HasPrefix(got.body, tt.want+" ") {
					t.Errorf("went to %q, want %s", got.body, tt.want)
				}
			})
		}
	})
}

func TestUpstreamSeesVersionAndForwardedHeaders(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		gray := newBackend(t, "gray")
		cfg := simple(newBackend(t, "stable").addr(), gray.addr(), func(c *gateway.Config) {
			c.Apps[0].Traffic = traffic.Rules{BlueGreen: "gray"}
		})
		h := startGateway(t, &cfg, fe)
		h.get(t, "/p", map[string]string{"Host": "bank.example", "X-Forwarded-For": "10.0.0.1"})
		r := gray.last()
		if got := r.Header.Get("X-Berth-Version"); got != "gray" {
			t.Errorf("X-Berth-Version = %q", got)
		}
		if got := r.Header.Get("X-Forwarded-For"); got != "10.0.0.1, 127.0.0.1" {
			t.Errorf("X-Forwarded-For = %q", got)
		}
		if r.Host != "bank.example" {
			t.Errorf("Host = %q, want the client's", r.Host)
		}
	})
}

// A request carrying an organisation header twice is matched on its values
// joined by "," — as Envoy, and so Istio and the Gateway API providers,
// match it — on both front ends: T900 alone goes to gray; T900 and T1 do
// not (unless a clause lists "T900,T1") and fall to the weight.
func TestRepeatedOrgHeaderIsMatchedAsTheMeshMatchesIt(t *testing.T) {
	forEachFrontEnd(t, func(t *testing.T, fe harnessOpt) {
		t.Parallel()
		stable, gray := newBackend(t, "stable"), newBackend(t, "gray")
		// The clause also lists "T2,T900": what Envoy sees for the header
		// sent twice, T2 first.
		teller := []traffic.Clause{{Headers: []traffic.Condition{{Header: "X-Org-Teller", Values: []string{"T900", "T2,T900"}}}}}
		for _, tt := range []struct {
			name    string
			weight  int
			draw    int
			headers string
			want    string
		}{
			{"one pilot teller goes to gray", 0, 99, "X-Org-Teller: T900\r\n", "gray"},
			{"a pilot teller and another stay stable", 0, 0, "X-Org-Teller: T900\r\nX-Org-Teller: T1\r\n", "stable"},
			{"the repeated header matches as the joined list", 0, 99, "X-Org-Teller: T2\r\nx-org-teller: T900\r\n", "gray"},
			{"in another order it does not", 0, 0, "X-Org-Teller: T900\r\nX-Org-Teller: T2\r\n", "stable"},
			{"unmatched, the weight decides", 50, 10, "X-Org-Teller: T1\r\nX-Org-Teller: T900\r\n", "gray"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				rules := traffic.Rules{Match: teller, Weight: tt.weight}
				cfg := simple(stable.addr(), gray.addr(), func(c *gateway.Config) { c.Apps[0].Traffic = rules })
				h := startGateway(t, &cfg, fe, withRand(tt.draw))
				body := h.rawBody(t, "GET /x HTTP/1.1\r\nHost: bank.example\r\n"+tt.headers+"Connection: close\r\n\r\n")
				if !strings.HasPrefix(body, tt.want+" ") {
					t.Errorf("went to %q, want %s", body, tt.want)
				}
			})
		}
	})
}
