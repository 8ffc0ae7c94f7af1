package gray

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
)

// fixedRand always draws n.
type fixedRand int

func (f fixedRand) IntN(int) int { return int(f) }

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

var steps = []Step{{Tellers: []string{"T900", "T901"}}, {Branches: []string{"0101"}}, {Regions: []string{"north"}, Weight: 10}, {Weight: 100}}

// TestPlanRoutesCohortsByPhaseAndStep is the table of what a plan sends
// where: compiled to traffic rules and decided on real request headers.
func TestPlanRoutesCohortsByPhaseAndStep(t *testing.T) {
	canary := func(step int, phase Phase) Plan {
		return Plan{Strategy: Canary, Steps: steps, Step: step, Phase: phase, StableVersion: "v1", GrayVersion: "v2"}
	}
	blue := func(side string, phase Phase) Plan {
		return Plan{Strategy: BlueGreen, Side: side, Phase: phase, StableVersion: "v1", GrayVersion: "v2"}
	}
	pilot := hdr("X-Org-Teller", "T901", "X-Org-Branch", "0999", "X-Org-Region", "south")
	branch := hdr("X-Org-Teller", "T001", "X-Org-Branch", "0101", "X-Org-Region", "south")
	region := hdr("X-Org-Teller", "T002", "X-Org-Branch", "0202", "X-Org-Region", "north")
	other := hdr("X-Org-Teller", "T003", "X-Org-Branch", "0303", "X-Org-Region", "south")
	lowercase := hdr("x-org-teller", "T900")
	wrongCase := hdr("X-Org-Teller", "t900")
	for _, tc := range []struct {
		name string
		plan Plan
		req  http.Header
		draw int
		want traffic.Side
	}{
		{"a pilot teller reaches gray at the first step", canary(0, Running), pilot, 99, traffic.Gray},
		{"a branch's request stays stable at the first step", canary(0, Running), branch, 0, traffic.Stable},
		{"the branch reaches gray at the second step", canary(1, Running), branch, 99, traffic.Gray},
		{"pilot tellers stay on gray as the plan widens", canary(1, Running), pilot, 99, traffic.Gray},
		{"a region's request stays stable before its step", canary(1, Running), region, 0, traffic.Stable},
		{"the region reaches gray at the third step", canary(2, Running), region, 99, traffic.Gray},
		{"others reach gray by the step's weight (draw under 10)", canary(2, Running), other, 9, traffic.Gray},
		{"others stay stable by the step's weight (draw of 10)", canary(2, Running), other, 10, traffic.Stable},
		{"a request without org headers is split by weight too", canary(2, Running), hdr(), 3, traffic.Gray},
		{"weight 100 sends everyone", canary(3, Running), other, 99, traffic.Gray},
		{"header names are case-insensitive", canary(0, Running), lowercase, 99, traffic.Gray},
		{"values are case-sensitive", canary(0, Running), wrongCase, 99, traffic.Stable},
		{"blue-green on gray sends everyone", blue("gray", Running), other, 99, traffic.Gray},
		{"blue-green on stable sends no one", blue("stable", Running), pilot, 0, traffic.Stable},
		{"a promoted plan sends everyone to the new stable", canary(3, Promoted), pilot, 0, traffic.Stable},
		{"an aborted plan sends everyone to stable", canary(3, Aborted), pilot, 0, traffic.Stable},
		{"an ended plan sends everyone to stable", canary(3, Ended), pilot, 0, traffic.Stable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := tc.plan.Rules(DefaultHeaders)
			if errs := rules.Validate(); len(errs) > 0 {
				t.Fatalf("compiled rules invalid: %v", errs)
			}
			m, err := traffic.Compile(rules)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Decide(tc.req, fixedRand(tc.draw)); got != tc.want {
				t.Fatalf("%s: got %s, want %s", rules, got, tc.want)
			}
		})
	}
}

func TestRulesUseThePlatformsHeaderNames(t *testing.T) {
	h, err := ParseHeaders("X-Bank-Area, X-Bank-Outlet, X-Bank-Clerk")
	if err != nil {
		t.Fatal(err)
	}
	p := Plan{Strategy: Canary, Phase: Running, Steps: steps, Step: 1}
	got := p.Rules(h).String()
	if want := "gray if [X-Bank-Clerk in (T900,T901) or X-Bank-Outlet in (0101)] else 0% gray"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	for _, bad := range []string{"X-A,X-B", "X-A,X B,X-C"} {
		if _, err := ParseHeaders(bad); err == nil {
			t.Errorf("ParseHeaders(%q) accepted", bad)
		}
	}
}

func TestParseCSVNamesEveryBadLineAndField(t *testing.T) {
	in := "level,code,name,parent\n" +
		"region,north,North,\n" +
		"branch,0101,Haidian,north\n" +
		"branch,0101,Chaoyang,north\n" + // line 4: duplicate code
		"teller,T900,Zhang Wei,0999\n" + // line 5: unknown parent
		"desk,D1,Desk,\n" + // line 6: unknown level
		"teller,,Nobody,0101\n" // line 7: empty code
	_, err := ParseCSV(strings.NewReader(in))
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a validation error", err)
	}
	var paths []string
	for _, f := range ve.Fields {
		paths = append(paths, f.Path)
	}
	want := []string{"line 4: code", "line 6: level", "line 7: code", "line 5: parent"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Fatalf("paths (-want +got):\n%s\n%v", diff, err)
	}
	if _, err := ParseCSV(strings.NewReader("code,name\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a wrong header: %v", err)
	}
}

func TestRouteUsesPerVersionServicesOnlyOnceTheyServe(t *testing.T) {
	d := deploy.Deployment{Tenant: "bank", Project: "pay", Application: "svc", Environment: "dev", Version: "v1"}
	v := apps.Version{Name: "v1", Orchestration: apps.Orchestration{Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}}
	plan := &Plan{Strategy: Canary, Phase: Running, Steps: steps, StableVersion: "v1", GrayVersion: "v2"}
	route := func(p *Plan) traffic.Route {
		r, ok := Route(Target{Deployment: d, Version: v, Plan: p, Namespace: "bank-dev"}, DefaultHeaders)
		if !ok {
			t.Fatal("no route")
		}
		return r
	}
	if r := route(nil); r.Stable.Service != "svc" || r.Gray != nil || r.Hosts[0] != "svc.bank-dev" || r.PortName != "http" {
		t.Fatalf("without a plan: %+v", r)
	}
	if r := route(plan); r.Stable.Service != "svc" || r.Gray != nil {
		t.Fatalf("before any per-version Service serves: %+v", r)
	}
	plan.Applied.Serving = []string{"v1"}
	if r := route(plan); r.Stable.Service != "svc--v1" || r.Gray != nil {
		t.Fatalf("with only stable serving: %+v", r)
	}
	plan.Applied.Serving = []string{"v1", "v2"}
	if r := route(plan); r.Stable.Service != "svc--v1" || r.Gray == nil || r.Gray.Service != "svc--v2" || len(r.Rules.Match) != 1 {
		t.Fatalf("with both serving: %+v", r)
	}
	d.Version = "v3" // a plain deploy overtook the plan
	if r := route(plan); r.Stable.Service != "svc" || r.Gray != nil {
		t.Fatalf("overtaken plan still routes: %+v", r)
	}
}

func TestServiceNameStaysAValidLabel(t *testing.T) {
	long := strings.Repeat("a", 60)
	for _, tc := range [][2]string{{"svc", "v1"}, {long, "v2"}, {"svc", long}, {long, long}} {
		n := ServiceName(tc[0], tc[1])
		var errs resource.Errors
		errs.CheckName("name", n)
		if err := errs.Err(); err != nil || len(n) > 63 {
			t.Errorf("ServiceName(%q, %q) = %q: %v", tc[0], tc[1], n, err)
		}
	}
	if ServiceName(long, "v1") == ServiceName(long, "v2") {
		t.Error("two versions of a long application share a name")
	}
}

// FuzzParseCSV: any input either fails with a validation error or yields a
// directory that validates, one unit per data line at most.
func FuzzParseCSV(f *testing.F) {
	f.Add("level,code,name,parent\nregion,north,North,\nbranch,0101,Haidian,north\nteller,T900,Zhang Wei,0101\n")
	f.Add("level,code,name,parent\nteller,T1,A,missing\n")
	f.Add("level,code,name,parent\n\"region\",\"n\"\"x\",N,\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		units, err := ParseCSV(strings.NewReader(in))
		if err != nil {
			var ve *resource.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is not a validation error: %v", err)
			}
			return
		}
		if err := ValidateOrg(units, func(i int) string { return "" }); err != nil {
			t.Fatalf("accepted directory does not validate: %v", err)
		}
		if len(units) > strings.Count(in, "\n")+1 {
			t.Fatalf("%d units from %d lines", len(units), strings.Count(in, "\n")+1)
		}
	})
}

// TestRouteNeverNamesTheApplicationsServiceWhileASecondVersionRuns: once a
// second version's Deployment is in the plan's inventory, the application's
// Service (which selects every version's pods) is never the route's stable
// backend, even when the stable per-version Service is not recorded as
// serving — after an abort, a switch back, a promotion or a restarted plan.
func TestRouteNeverNamesTheApplicationsServiceWhileASecondVersionRuns(t *testing.T) {
	port := apps.Orchestration{Ports: []apps.Port{{Name: "http", ContainerPort: 8080}}}
	inv := json.RawMessage(`[{"version":"v1","kind":"Service","namespace":"bank-dev","name":"svc--v1"},` +
		`{"group":"apps","version":"v1","kind":"Deployment","namespace":"bank-dev","name":"svc--v2"}]`)
	for _, tc := range []struct {
		name     string
		deployed string
		plan     Plan
		want     string
	}{
		{"aborted, gray still running", "v1",
			Plan{Phase: Aborted, StableVersion: "v1", GrayVersion: "v2", Applied: Applied{Inventory: inv}}, "svc--v1"},
		{"running, stable not recorded as serving", "v1",
			Plan{Phase: Running, StableVersion: "v1", GrayVersion: "v2", Applied: Applied{Inventory: inv}}, "svc--v1"},
		{"promoted, old copy running", "v2",
			Plan{Phase: Promoted, StableVersion: "v1", GrayVersion: "v2", Applied: Applied{Inventory: inv, Serving: []string{"v1"}}}, "svc--v2"},
		{"ended, the gray copy kept while the main Deployment rolls", "v2",
			Plan{Phase: Ended, StableVersion: "v1", GrayVersion: "v2", Applied: Applied{Inventory: inv}}, "svc--v2"},
		{"unreadable inventory counts as running", "v1",
			Plan{Phase: Aborted, StableVersion: "v1", GrayVersion: "v2", Applied: Applied{Inventory: json.RawMessage(`{`)}}, "svc--v1"},
		{"nothing beside yet: the application's Service", "v1",
			Plan{Phase: Running, StableVersion: "v1", GrayVersion: "v2"}, "svc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deploy.Deployment{Tenant: "bank", Project: "pay", Application: "svc", Environment: "dev", Version: tc.deployed}
			r, ok := Route(Target{Deployment: d, Version: apps.Version{Name: tc.deployed, Orchestration: port}, Plan: &tc.plan, Namespace: "bank-dev"}, DefaultHeaders)
			if !ok || r.Stable.Service != tc.want || len(r.SpanningBackends()) > 0 {
				t.Fatalf("stable backend %q (gray %+v), want %q", r.Stable.Service, r.Gray, tc.want)
			}
		})
	}
}
