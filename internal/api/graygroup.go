package api

import (
	"net/http"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/tenancy"
)

type groupFunc func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, []gray.Plan, error)

func (a *API) registerGrayGroups() {
	base := "/tenants/{tenant}/projects/{project}/releases/{id}/gray"
	a.route(Route{Method: "GET", Path: base, Summary: "Get a release order's gray group: the order and the gray plan of each item", Response: "GrayGroupView"}, a.getGrayGroup)
	a.grayGroupRoute(Route{Method: "POST", Path: base, Summary: "Release an approved order by gray plans: every item's version beside its stable one for the same cohorts",
		Request: "GrayGroupStartRequest", Response: "GrayGroupView", OptionalBody: true}, "release.gray.start", authz.ReleaseOperate,
		func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, []gray.Plan, error) {
			var req apitypes.GrayGroupStartRequest
			if err := decodeOptional(r, &req); err != nil {
				return release.Order{}, nil, err
			}
			if err := a.mayQuery(r, req.Steps); err != nil {
				return release.Order{}, nil, err
			}
			spec := gray.Plan{Strategy: req.Strategy, GrayReplicas: req.GrayReplicas, Steps: req.Steps, Step: req.Step, Side: req.Side}
			return a.p.GrayGroups.Start(r.Context(), tx, a.actor(r), k, spec)
		})
	a.grayGroupRoute(Route{Method: "POST", Path: base + "/step", Summary: "Widen every plan of the gray group to its next (or a given) step", Request: "GrayStepRequest", Response: "GrayGroupView", OptionalBody: true, Status: http.StatusOK}, "release.gray.step", authz.GrayManage, func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, []gray.Plan, error) {
		var req apitypes.GrayStepRequest
		if err := decodeOptional(r, &req); err != nil {
			return release.Order{}, nil, err
		}
		return a.p.GrayGroups.Step(r.Context(), tx, a.actor(r), k, req.To)
	})
	a.grayGroupRoute(Route{Method: "POST", Path: base + "/set", Summary: "Change every plan of the gray group: steps, current step, blue-green side, gray replicas", Request: "GrayChange", Response: "GrayGroupView", OptionalBody: true, Status: http.StatusOK}, "release.gray.set", authz.GrayManage, func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, []gray.Plan, error) {
		var req gray.Change
		if err := decodeOptional(r, &req); err != nil {
			return release.Order{}, nil, err
		}
		if req.Steps != nil {
			if err := a.mayQuery(r, *req.Steps); err != nil {
				return release.Order{}, nil, err
			}
		}
		return a.p.GrayGroups.Set(r.Context(), tx, a.actor(r), k, req)
	})
	a.grayGroupRoute(Route{Method: "POST", Path: base + "/promote", Summary: "Promote every plan of the gray group; the order succeeds", Request: "GrayPromoteRequest", Response: "GrayGroupView", OptionalBody: true, Status: http.StatusOK}, "release.gray.promote", authz.GrayManage, func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, []gray.Plan, error) {
		var req apitypes.GrayPromoteRequest
		if err := decodeOptional(r, &req); err != nil {
			return release.Order{}, nil, err
		}
		keep, err := parseKeepOld(req.KeepOld)
		if err != nil {
			return release.Order{}, nil, err
		}
		return a.p.GrayGroups.Promote(r.Context(), tx, a.actor(r), k, keep)
	})
	a.grayGroupRoute(Route{Method: "POST", Path: base + "/abort", Summary: "Send every application of the gray group back to its stable version (a promoted group switches back)",
		Request: "GrayAbortRequest", Response: "GrayGroupView", OptionalBody: true, Status: http.StatusOK}, "release.gray.abort", authz.GrayManage, func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, []gray.Plan, error) {
		var req apitypes.GrayAbortRequest
		if err := decodeOptional(r, &req); err != nil {
			return release.Order{}, nil, err
		}
		return a.p.GrayGroups.Abort(r.Context(), tx, a.actor(r), k, req.Reason)
	})
	a.grayGroupRoute(Route{Method: "POST", Path: base + "/end", Summary: "Stop keeping the old versions of a promoted gray group", Response: "GrayGroupView"}, "release.gray.end", authz.GrayManage, func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, []gray.Plan, error) {
		return a.p.GrayGroups.End(r.Context(), tx, a.actor(r), k)
	})
}

func (a *API) groupView(o release.Order, plans []gray.Plan) apitypes.GrayGroupView {
	v := apitypes.GrayGroupView{Order: orderView(o), Plans: make([]apitypes.GrayPlanView, 0, len(plans))}
	for _, p := range plans {
		v.Plans = append(v.Plans, a.grayView(p))
	}
	return v
}

func (a *API) getGrayGroup(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.GrayRead, s); err != nil {
		return err
	}
	if err := a.authorize(r, authz.ReleaseRead, s); err != nil {
		return err
	}
	var o release.Order
	var plans []gray.Plan
	err := a.view(r, func(tx platform.Tx) (err error) {
		o, plans, err = a.p.GrayGroups.Plans(r.Context(), tx, orderKey(r))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.groupView(o, plans))
}

// grayGroupRoute registers rt as one change of an order's gray group:
// every plan and the order in one transaction, answered with rt's success
// status. The order's environment must be reachable, as for a single plan.
// Starting a group starts the order too, so it also needs perm (release
// operate); the other changes need gray plan management alone.
func (a *API) grayGroupRoute(rt Route, action string, perm authz.Permission, fn groupFunc) {
	status := successStatus(rt)
	a.route(rt, func(w http.ResponseWriter, r *http.Request) error {
		s := scopeOf(r)
		for _, p := range []authz.Permission{authz.GrayManage, perm} {
			if err := a.authorize(r, p, s); err != nil {
				return err
			}
		}
		k := orderKey(r)
		var env tenancy.Environment
		err := a.view(r, func(tx platform.Tx) error {
			o, err := a.p.Release.Get(r.Context(), tx, k)
			if err != nil {
				return err
			}
			env, err = tx.GetEnvironment(r.Context(), o.Tenant, o.Project, o.Environment)
			return err
		})
		if err != nil {
			return err
		}
		if err := a.reachable(r.Context(), env); err != nil {
			return err
		}
		var o release.Order
		var plans []gray.Plan
		err = a.do(r, action, "tenants/"+k.Tenant+"/projects/"+k.Project+"/releases/"+k.ID+"/gray", s, func(tx platform.Tx) (err error) {
			o, plans, err = fn(r, tx, k)
			return err
		})
		if err != nil {
			return err
		}
		return writeJSON(w, status, a.groupView(o, plans))
	})
}

// mayQuery refuses steps with a custom metric query unless the caller may
// write custom PromQL (authz.AlertCustom): Prometheus evaluates it over
// every tenant's series.
func (a *API) mayQuery(r *http.Request, steps []gray.Step) error {
	for _, st := range steps {
		if analysis.Custom(st.Checks) {
			return a.authorize(r, authz.AlertCustom, scopeOf(r))
		}
	}
	return nil
}
