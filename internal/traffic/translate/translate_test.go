package translate_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/traffic"
	"berth.dev/berth/internal/traffic/traffictest"
	"berth.dev/berth/internal/traffic/translate"
)

func TestValidateNamesEveryBadField(t *testing.T) {
	t.Parallel()
	r := traffictest.Route(traffic.Rules{BlueGreen: "blue"})
	r.Name = ""
	r.Namespace = "Bank"
	r.Service = "9svc"
	r.Stable = traffic.Backend{Version: "", Service: "red-auth-v1"}
	r.Gray = &traffic.Backend{Version: "v 2", Service: "red-auth-v1"}
	r.PathPrefix = "/api//x"
	r.Hosts = []string{"*.bank.example", "-bad"}
	r.Gateway = "Edge/public"
	r.Labels = map[string]string{"ok": "fine", "bad key!": "x"}
	err := translate.Validate(r, true)
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a validation error", err)
	}
	var paths []string
	for _, f := range ve.Fields {
		paths = append(paths, f.Path)
	}
	want := []string{"name", "namespace", "service", "stable.version", "gray.version", "gray.service",
		"pathPrefix", "hosts[1]", "gateway", "labels[bad key!]", "rules.blueGreen"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s\n%v", diff, err)
	}
}

func TestValidateAcceptsAGoodRoute(t *testing.T) {
	t.Parallel()
	r := traffictest.Route(traffic.Rules{Match: traffictest.Pilot(), Weight: 5})
	if err := translate.Validate(r, true); err != nil {
		t.Fatal(err)
	}
	r.Gateway = ""
	if err := translate.Validate(r, false); err != nil {
		t.Errorf("a route without a gateway, gateway optional: %v", err)
	}
	var ve *resource.ValidationError
	if err := translate.Validate(r, true); !errors.As(err, &ve) || ve.Fields[0].Path != "gateway" {
		t.Errorf("a route without a gateway, gateway required: %v", err)
	}
}

func TestPlanOf(t *testing.T) {
	t.Parallel()
	c, cl := traffictest.Cond, traffictest.Clause
	noGray := traffictest.Route(traffic.Rules{Match: traffictest.Pilot(), Weight: 50})
	noGray.Gray = nil
	tests := []struct {
		name  string
		route traffic.Route
		want  translate.Plan
	}{
		{"no gray version sends all to stable", noGray, translate.Plan{Fixed: true, All: traffic.Stable}},
		{"blue-green gray", traffictest.Route(traffic.Rules{BlueGreen: "gray"}), translate.Plan{Fixed: true, All: traffic.Gray}},
		{"weight 100 with clauses is all gray", traffictest.Route(traffic.Rules{Match: traffictest.Pilot(), Weight: 100}),
			translate.Plan{Fixed: true, All: traffic.Gray}},
		{"no clause and no weight is all stable", traffictest.Route(traffic.Rules{}), translate.Plan{Fixed: true, All: traffic.Stable}},
		{"conditions on one header merge into their intersection, duplicates dropped",
			traffictest.Route(traffic.Rules{Match: []traffic.Clause{
				cl(c("x-org-branch", "1", "2", "2", "3"), c("X-Org-Region", "n"), c("X-ORG-BRANCH", "3", "2")),
			}, Weight: 7}),
			translate.Plan{Weight: 7, Clauses: []translate.Clause{{Index: 0, Conds: []translate.Cond{
				{Header: "X-Org-Branch", Values: []string{"2", "3"}}, {Header: "X-Org-Region", Values: []string{"n"}},
			}}}}},
		{"a clause that can never hold is dropped, keeping the others' indexes",
			traffictest.Route(traffic.Rules{Match: []traffic.Clause{cl(c("A", "1"), c("a", "2")), cl(c("B", "1"))}}),
			translate.Plan{Clauses: []translate.Clause{{Index: 1, Conds: []translate.Cond{{Header: "B", Values: []string{"1"}}}}}}},
		{"only impossible clauses and no weight is all stable",
			traffictest.Route(traffic.Rules{Match: []traffic.Clause{cl(c("A", "1"), c("a", "2"))}}),
			translate.Plan{Fixed: true, All: traffic.Stable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, translate.PlanOf(tt.route)); diff != "" {
				t.Errorf("PlanOf (-want +got):\n%s", diff)
			}
		})
	}
}

// TestValidateRefusesAGrayRouteThroughTheApplicationsService: while a gray
// version runs, neither backend may be the application's Service, which
// selects every version's pods; the Istio and Gateway API renderers refuse
// such a route through Validate.
func TestValidateRefusesAGrayRouteThroughTheApplicationsService(t *testing.T) {
	t.Parallel()
	for _, side := range []string{"stable", "gray"} {
		r := traffictest.Route(traffic.Rules{Weight: 10})
		if side == "stable" {
			r.Stable.Service = r.Service
		} else {
			r.Gray.Service = r.Service
		}
		err := translate.Validate(r, false)
		var ve *resource.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Path != side+".service" {
			t.Fatalf("%s through %q: %v, want one error at %s.service", side, r.Service, err, side)
		}
	}
	r := traffictest.Route(traffic.Rules{})
	r.Gray, r.Stable.Service = nil, r.Service // one version: the application's Service is fine
	if err := translate.Validate(r, false); err != nil {
		t.Fatalf("a route without gray through the application's Service: %v", err)
	}
}
