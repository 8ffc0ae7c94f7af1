package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/deploy"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// GatewayStream is the configuration stream gateways follow;
// *gateway.Publisher implements it.
type GatewayStream interface {
	http.Handler
	Current() []byte
	// Applied records that gateway subscriber sub has put configuration
	// id in force (gateway.Publisher.Applied).
	Applied(sub, id string)
	// Deliveries lists the gateways and what they have in force, this
	// replica's and the other replicas' (gateway.Publisher.Deliveries).
	Deliveries(ctx context.Context) (apitypes.GatewayDeliveries, error)
}

func (a *API) registerGray() {
	base := "/tenants/{tenant}/projects/{project}/environments/{environment}/grayplans"
	a.route(Route{Method: "GET", Path: base, Summary: "List the gray plans of an environment", Response: "List[GrayPlanView]"}, a.listGrayPlans)
	a.route(Route{Method: "POST", Path: base, Summary: "Start a gray plan: run a new version beside the stable one for chosen tellers, branches, regions or a weight",
		Request: "GrayStartRequest", Response: "GrayPlanView"}, a.startGrayPlan)
	a.route(Route{Method: "GET", Path: base + "/{app}", Summary: "Get an application's gray plan and the rules it routes by", Response: "GrayPlanView"}, a.getGrayPlan)
	a.route(Route{Method: "POST", Path: base + "/{app}/step", Summary: "Widen a canary plan to its next (or a given) step", Request: "GrayStepRequest", Response: "GrayPlanView", OptionalBody: true, Status: http.StatusOK},
		a.grayOp("grayplan.step", func(ctx context.Context, tx platform.Tx, r *http.Request, k deploy.Key) (gray.Plan, error) {
			var req apitypes.GrayStepRequest
			if err := decodeOptional(r, &req); err != nil {
				return gray.Plan{}, err
			}
			return a.p.StepGrayPlan(ctx, tx, a.caller(r), k, req.To)
		}))
	a.route(Route{Method: "POST", Path: base + "/{app}/set", Summary: "Change a running plan: steps, current step, blue-green side, gray replicas", Request: "GrayChange", Response: "GrayPlanView", OptionalBody: true, Status: http.StatusOK},
		a.grayOp("grayplan.set", func(ctx context.Context, tx platform.Tx, r *http.Request, k deploy.Key) (gray.Plan, error) {
			var req gray.Change
			if err := decodeOptional(r, &req); err != nil {
				return gray.Plan{}, err
			}
			return a.p.SetGrayPlan(ctx, tx, a.caller(r), k, req)
		}))
	a.route(Route{Method: "POST", Path: base + "/{app}/promote", Summary: "Make the gray version stable, keeping the old one for keepOld (or removing it)", Request: "GrayPromoteRequest", Response: "GrayPlanView", OptionalBody: true, Status: http.StatusOK},
		a.grayOp("grayplan.promote", func(ctx context.Context, tx platform.Tx, r *http.Request, k deploy.Key) (gray.Plan, error) {
			var req apitypes.GrayPromoteRequest
			if err := decodeOptional(r, &req); err != nil {
				return gray.Plan{}, err
			}
			keep, err := parseKeepOld(req.KeepOld)
			if err != nil {
				return gray.Plan{}, err
			}
			return a.p.PromoteGrayPlan(ctx, tx, a.caller(r), k, keep)
		}))
	a.route(Route{Method: "POST", Path: base + "/{app}/abort", Summary: "Send all traffic back to the old stable version and remove the gray one (a promoted plan switches back)", Request: "GrayAbortRequest", Response: "GrayPlanView", OptionalBody: true, Status: http.StatusOK},
		a.grayOp("grayplan.abort", func(ctx context.Context, tx platform.Tx, r *http.Request, k deploy.Key) (gray.Plan, error) {
			var req apitypes.GrayAbortRequest
			if err := decodeOptional(r, &req); err != nil {
				return gray.Plan{}, err
			}
			return a.p.AbortGrayPlan(ctx, tx, a.caller(r), k, req.Reason)
		}))
	a.route(Route{Method: "POST", Path: base + "/{app}/end", Summary: "Stop keeping the old version of a promoted plan", Response: "GrayPlanView"},
		a.grayOp("grayplan.end", func(ctx context.Context, tx platform.Tx, r *http.Request, k deploy.Key) (gray.Plan, error) {
			return a.p.EndGrayPlan(ctx, tx, a.caller(r), k)
		}))
	a.route(Route{Method: "GET", Path: "/tenants/{tenant}/org", Summary: "List the tenant's org directory (regions, branches, tellers)", Response: "List[OrgUnit]"}, a.listOrg)
	a.route(Route{Method: "PUT", Path: "/tenants/{tenant}/org", Summary: "Replace the tenant's org directory (CSV level,code,name,parent or units)", Request: "OrgImportRequest", Response: "List[OrgUnit]"}, a.importOrg)
	a.route(Route{Method: "GET", Path: "/gateway/config", Summary: "The Berth gateway configuration: JSON, or with Accept: text/event-stream a stream of every new one", Response: "GatewayConfig", Events: true}, a.gatewayConfig)
	a.route(Route{Method: "POST", Path: "/gateway/config/applied", Summary: "A gateway reports a configuration in force, so that the server removes what older ones routed to only after that",
		Request: "GatewayApplied", Response: "none"}, a.gatewayApplied)
	a.route(Route{Method: "GET", Path: "/gateway/deliveries", Summary: "Which configuration every gateway, of every replica, has in force: what a gray plan waits for before removing pods",
		Response: "GatewayDeliveries"}, a.gatewayDeliveries)
}

func parseKeepOld(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &resource.ValidationError{Fields: []resource.FieldError{{Path: "keepOld", Reason: fmt.Sprintf("want a duration such as 2h or 30m, got %q", s)}}}
	}
	return d, nil
}

func grayKey(r *http.Request) deploy.Key {
	return deploy.Key{Tenant: r.PathValue("tenant"), Project: r.PathValue("project"),
		Application: r.PathValue("app"), Environment: r.PathValue("environment")}
}

func (a *API) grayView(p gray.Plan) apitypes.GrayPlanView {
	h := a.p.Gray.Headers()
	return apitypes.GrayPlanView{Plan: p, Rules: p.Rules(h), Headers: h}
}

func (a *API) listGrayPlans(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GrayRead, scopeOf(r)); err != nil {
		return err
	}
	env, err := a.environment(r)
	if err != nil {
		return err
	}
	var plans []gray.Plan
	err = a.view(r, func(tx platform.Tx) error {
		plans, err = tx.ListPlans(r.Context(), deploy.Filter{Tenant: env.Tenant, Project: env.Project, Environment: env.Name})
		return err
	})
	if err != nil {
		return err
	}
	views := make([]apitypes.GrayPlanView, 0, len(plans))
	for _, p := range plans {
		views = append(views, a.grayView(p))
	}
	return writeJSON(w, http.StatusOK, apitypes.List[apitypes.GrayPlanView]{Items: views})
}

func (a *API) getGrayPlan(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GrayRead, scopeOf(r)); err != nil {
		return err
	}
	var p gray.Plan
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		p, err = a.p.Gray.Get(r.Context(), tx, grayKey(r))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.grayView(p))
}

func (a *API) startGrayPlan(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.GrayManage, s); err != nil {
		return err
	}
	var req apitypes.GrayStartRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	env, err := a.environment(r)
	if err != nil {
		return err
	}
	if err := a.reachable(r.Context(), env); err != nil {
		return err
	}
	spec := gray.Plan{Tenant: env.Tenant, Project: env.Project, Environment: env.Name, Application: req.Application,
		GrayVersion: req.GrayVersion, Strategy: req.Strategy, GrayReplicas: req.GrayReplicas, Steps: req.Steps, Step: req.Step, Side: req.Side}
	var p gray.Plan
	err = a.do(r, "grayplan.start", gray.Path(spec.Key()), s, func(tx platform.Tx) error {
		var err error
		p, err = a.p.StartGrayPlan(r.Context(), tx, a.caller(r), spec)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a.grayView(p))
}

// grayOp is the handler of one change to an existing plan; fn calls the
// platform's operation, which carries the rules across features.
func (a *API) grayOp(action string, fn func(ctx context.Context, tx platform.Tx, r *http.Request, k deploy.Key) (gray.Plan, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		s := scopeOf(r)
		if err := a.authorize(r, authz.GrayManage, s); err != nil {
			return err
		}
		env, err := a.environment(r)
		if err != nil {
			return err
		}
		if err := a.reachable(r.Context(), env); err != nil {
			return err
		}
		k := grayKey(r)
		var p gray.Plan
		err = a.do(r, action, gray.Path(k), s, func(tx platform.Tx) error {
			var err error
			p, err = fn(r.Context(), tx, r, k)
			return err
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, a.grayView(p))
	}
}

func (a *API) listOrg(w http.ResponseWriter, r *http.Request) error {
	tn := r.PathValue("tenant")
	if err := a.authorize(r, authz.OrgRead, authz.TenantScope(tn)); err != nil {
		return err
	}
	var units []gray.OrgUnit
	err := a.view(r, func(tx platform.Tx) error {
		if _, err := tx.GetTenant(r.Context(), tn); err != nil {
			return err
		}
		var err error
		units, err = tx.ListOrgUnits(r.Context(), tn)
		return err
	})
	if err != nil {
		return err
	}
	if units == nil {
		units = []gray.OrgUnit{}
	}
	return writeJSON(w, http.StatusOK, apitypes.List[gray.OrgUnit]{Items: units})
}

func (a *API) importOrg(w http.ResponseWriter, r *http.Request) error {
	tn := r.PathValue("tenant")
	s := authz.TenantScope(tn)
	if err := a.authorize(r, authz.OrgImport, s); err != nil {
		return err
	}
	var req apitypes.OrgImportRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	units := req.Units
	if req.CSV != "" {
		var err error
		if units, err = gray.ParseCSV(strings.NewReader(req.CSV)); err != nil {
			return err
		}
	}
	err := a.do(r, "org.import", "tenants/"+tn+"/org", s, func(tx platform.Tx) error {
		return a.p.Gray.ImportOrg(r.Context(), tx, a.actor(r), tn, units)
	})
	if err != nil {
		return err
	}
	if units == nil {
		units = []gray.OrgUnit{}
	}
	return writeJSON(w, http.StatusOK, apitypes.List[gray.OrgUnit]{Items: units})
}

// gatewayApplied takes a gateway's report that a configuration is in force.
func (a *API) gatewayApplied(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GatewayRead, authz.Platform); err != nil {
		return err
	}
	var v apitypes.GatewayApplied
	if err := decode(r, &v); err != nil {
		return err
	}
	var fields []resource.FieldError
	if v.Subscriber == "" || len(v.Subscriber) > 64 {
		fields = append(fields, resource.FieldError{Path: "subscriber", Reason: "must be 1 to 64 characters"})
	}
	if len(v.ID) != 64 {
		fields = append(fields, resource.FieldError{Path: "id", Reason: "must be a configuration ID (64 hex digits)"})
	}
	if len(fields) > 0 {
		return &resource.ValidationError{Fields: fields}
	}
	if a.gateway != nil {
		a.gateway.Applied(v.Subscriber, v.ID)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// gatewayDeliveries answers which configuration the gateways have in
// force, as this replica sees it.
func (a *API) gatewayDeliveries(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GatewayRead, authz.Platform); err != nil {
		return err
	}
	d := apitypes.GatewayDeliveries{Gateways: []apitypes.GatewayDelivery{}}
	if a.gateway != nil {
		var err error
		if d, err = a.gateway.Deliveries(r.Context()); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, d)
}

// gatewayConfig serves the gateway configuration the server publishes: the
// current one as JSON, or the stream of every new one to a client asking
// for text/event-stream (`berth gateway --server`). Gateways see every
// environment's routes, so only platform-wide readers of it may follow.
func (a *API) gatewayConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.GatewayRead, authz.Platform); err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") && a.gateway != nil {
		a.gateway.ServeHTTP(w, r)
		return nil
	}
	var data []byte
	if a.gateway != nil {
		data = a.gateway.Current()
	}
	if data == nil {
		data = []byte(`{"routes":[],"apps":[]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(data)
	return err
}
