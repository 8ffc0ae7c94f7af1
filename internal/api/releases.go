package api

import (
	"net/http"
	"slices"

	"berth.dev/berth/internal/analysis"
	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

func (a *API) registerReleases() {
	base := "/tenants/{tenant}/projects/{project}/releases"
	a.route(Route{Method: "GET", Path: base, Summary: "List release orders, newest first (?environment= narrows)",
		Query: append([]string{"environment"}, pageQuery...), Response: "List[OrderView]"}, a.listOrders)
	a.route(Route{Method: "POST", Path: base, Summary: "Create a release order; it is submitted for approval unless a draft",
		Request: "ReleaseRequest", Response: "OrderView"}, a.createOrder)
	a.route(Route{Method: "GET", Path: base + "/{id}", Summary: "Get a release order with every item's state and its progress", Response: "OrderView"}, a.getOrder)
	a.route(Route{Method: "POST", Path: base + "/{id}/submit", Summary: "Submit a draft for approval", Response: "OrderView"},
		a.orderAction(authz.ReleaseCreate, "release.submit", func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, error) {
			return a.p.Release.Submit(r.Context(), tx, a.actor(r), k)
		}))
	a.route(Route{Method: "POST", Path: base + "/{id}/approve", Summary: "Approve a release order (never one's own)", Request: "ApproveRequest", Response: "OrderView", OptionalBody: true, Status: http.StatusOK},
		a.orderAction(authz.ReleaseApprove, "release.approve", func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, error) {
			var req apitypes.ApproveRequest
			if err := decodeOptional(r, &req); err != nil {
				return release.Order{}, err
			}
			return a.p.Release.Approve(r.Context(), tx, a.actor(r), k, req.Comment)
		}))
	a.route(Route{Method: "POST", Path: base + "/{id}/start", Summary: "Start an approved release order", Response: "OrderView"},
		a.orderAction(authz.ReleaseOperate, "release.start", func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, error) {
			return a.p.StartOrder(r.Context(), tx, a.caller(r), k)
		}))
	a.route(Route{Method: "POST", Path: base + "/{id}/abort", Summary: "Abort a release order; a running one rolls back", Request: "AbortRequest", Response: "OrderView", OptionalBody: true, Status: http.StatusOK},
		a.orderAction(authz.ReleaseOperate, "release.abort", func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, error) {
			var req apitypes.AbortRequest
			if err := decodeOptional(r, &req); err != nil {
				return release.Order{}, err
			}
			return a.p.Release.Abort(r.Context(), tx, a.actor(r), k, req.Reason)
		}))
	a.route(Route{Method: "POST", Path: base + "/{id}/rollback",
		Summary: "Roll back a succeeded order, or chosen items, by a new order (business fault)", Request: "RollbackRequest", Response: "OrderView", OptionalBody: true, Status: http.StatusOK},
		a.orderAction(authz.ReleaseOperate, "release.rollback", func(r *http.Request, tx platform.Tx, k release.Key) (release.Order, error) {
			var req release.RollbackRequest
			if err := decodeOptional(r, &req); err != nil {
				return release.Order{}, err
			}
			return a.p.RollbackOrder(r.Context(), tx, a.caller(r), k, req)
		}))
}

func orderKey(r *http.Request) release.Key {
	return release.Key{Tenant: r.PathValue("tenant"), Project: r.PathValue("project"), ID: r.PathValue("id")}
}

func orderView(o release.Order) apitypes.OrderView {
	return apitypes.OrderView{Order: o, Progress: o.Progress()}
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ReleaseRead, s); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	after, err := o.After()
	if err != nil {
		return err
	}
	limit := o.PageLimit()
	var orders []release.Order
	err = a.view(r, func(tx platform.Tx) error {
		f := release.Filter{Tenant: s.Tenant, Project: s.Project, Environment: r.URL.Query().Get("environment")}
		orders, err = tx.ListOrders(r.Context(), f, after, limit+1)
		return err
	})
	if err != nil {
		return err
	}
	next := ""
	if len(orders) > limit {
		orders = orders[:limit]
		next = resource.EncodeContinue(release.PageKey(orders[len(orders)-1]))
	}
	views := make([]apitypes.OrderView, len(orders))
	for i, o := range orders {
		views[i] = orderView(o)
	}
	return writeJSON(w, http.StatusOK, apitypes.List[apitypes.OrderView]{Items: views, Continue: next})
}

func (a *API) createOrder(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ReleaseCreate, s); err != nil {
		return err
	}
	var req apitypes.ReleaseRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	for _, it := range append(slices.Concat(req.Stages...), req.Items...) {
		if analysis.Custom(it.Checks) { // Prometheus evaluates it over every tenant's series
			if err := a.authorize(r, authz.AlertCustom, s); err != nil {
				return err
			}
			break
		}
	}
	items := req.Items
	if len(req.Stages) > 0 {
		if len(req.Items) > 0 {
			return &resource.ValidationError{Fields: []resource.FieldError{{Path: "stages", Reason: "give items or stages, not both"}}}
		}
		items = release.Stages(req.Stages)
	}
	o := release.Order{Tenant: s.Tenant, Project: s.Project, Environment: req.Environment, Title: req.Title, Ticket: req.Ticket,
		Parallelism: req.Parallelism, Deadline: req.Deadline, Items: items}
	err := a.do(r, "release.create", "tenants/"+s.Tenant+"/projects/"+s.Project+"/releases", s, func(tx platform.Tx) (err error) {
		o, err = a.p.Release.Create(r.Context(), tx, a.actor(r), o, req.Draft)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, orderView(o))
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ReleaseRead, scopeOf(r)); err != nil {
		return err
	}
	var o release.Order
	err := a.view(r, func(tx platform.Tx) (err error) {
		o, err = a.p.Release.Get(r.Context(), tx, orderKey(r))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, orderView(o))
}

// orderAction runs one change of a release order under perm.
func (a *API) orderAction(perm authz.Permission, action string, fn func(*http.Request, platform.Tx, release.Key) (release.Order, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		s := scopeOf(r)
		if err := a.authorize(r, perm, s); err != nil {
			return err
		}
		k := orderKey(r)
		var o release.Order
		err := a.do(r, action, "tenants/"+k.Tenant+"/projects/"+k.Project+"/releases/"+k.ID, s, func(tx platform.Tx) (err error) {
			o, err = fn(r, tx, k)
			return err
		})
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, orderView(o))
	}
}
