package api

import (
	"context"
	"net/http"
	"strconv"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/manifest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// The config center on Berth's own API (docs/config-center.md); the Nacos
// protocols are in nacos*.go.
func (a *API) registerConfigs() {
	env := "/tenants/{tenant}/projects/{project}/environments/{environment}/configs"
	item := env + "/{group}/{dataid}"
	a.route(Route{Method: "GET", Path: env, Summary: "List an environment's config items (without content)", Query: pageQuery,
		Response: "List[ConfigItemView]"}, a.listConfigs)
	a.route(Route{Method: "GET", Path: item, Summary: "Get a config item with its current content (a secret's only with config:read-secret)",
		Response: "ConfigItemView"}, a.getConfig)
	a.route(Route{Method: "PUT", Path: item, Summary: "Publish a new revision of a config item (proposed where the environment requires approvals; to a cohort with cohort)",
		Request: "ConfigPublishRequest", Response: "ConfigRevisionView"}, a.publishConfig)
	a.route(Route{Method: "DELETE", Path: item, Summary: "Delete a config item, keeping its history (proposed where approvals are required)",
		Query: []string{"comment", "ticket"}, Response: "ConfigRevisionView", Status: http.StatusOK}, a.deleteConfig)
	a.route(Route{Method: "GET", Path: item + "/revisions", Summary: "List a config item's revisions, newest first (before: older than that number)",
		Query: []string{"before", "limit"}, Response: "List[ConfigRevisionView]"}, a.configHistory)
	a.route(Route{Method: "GET", Path: item + "/revisions/{revision}", Summary: "Get one revision of a config item with its content",
		Response: "ConfigRevisionView"}, a.configRevision)
	a.route(Route{Method: "GET", Path: item + "/diff", Summary: "The lines that turn revision from into revision to",
		Query: []string{"from", "to"}, Response: "ConfigDiff"}, a.configDiff)
	a.route(Route{Method: "POST", Path: item + "/rollback", Summary: "Publish an older revision's content again, as a new revision",
		Request: "ConfigRollbackRequest", Response: "ConfigRevisionView", Status: http.StatusOK}, a.rollbackConfig)
	a.route(Route{Method: "POST", Path: item + "/revisions/{revision}/approve", Summary: "Approve a proposed revision (never one's own); with enough approvals it becomes current",
		Response: "ConfigRevisionView", Status: http.StatusOK}, a.approveConfig)
	a.route(Route{Method: "POST", Path: item + "/revisions/{revision}/reject", Summary: "Reject a proposed revision",
		Request: "ConfigRejectRequest", Response: "ConfigRevisionView", Status: http.StatusOK, OptionalBody: true}, a.rejectConfig)
	a.route(Route{Method: "POST", Path: item + "/gray/promote", Summary: "Make the gray revision current for every client",
		Response: "ConfigRevisionView", Status: http.StatusOK}, a.configGrayOp(true))
	a.route(Route{Method: "POST", Path: item + "/gray/abort", Summary: "Stop serving the gray revision; its cohort gets the current one again",
		Response: "ConfigRevisionView", Status: http.StatusOK}, a.configGrayOp(false))
}

func configKey(r *http.Request) configcenter.Key {
	return configcenter.Key{Tenant: r.PathValue("tenant"), Project: r.PathValue("project"), Environment: r.PathValue("environment"),
		Group: r.PathValue("group"), DataID: r.PathValue("dataid")}
}

func (a *API) listConfigs(w http.ResponseWriter, r *http.Request) error {
	s := scopeOf(r)
	if err := a.authorize(r, authz.ConfigRead, s); err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	e := configcenter.Env{Tenant: s.Tenant, Project: s.Project, Environment: r.PathValue("environment")}
	var page resource.Page[configcenter.Item]
	err = a.view(r, func(tx platform.Tx) (err error) {
		if _, err := tx.GetEnvironment(r.Context(), e.Tenant, e.Project, e.Environment); err != nil {
			return err
		}
		page, err = a.p.ConfigItems(r.Context(), tx, a.caller(r), e, o)
		return err
	})
	if err != nil {
		return err
	}
	views := make([]apitypes.ConfigItemView, len(page.Items))
	for i, it := range page.Items {
		views[i] = apitypes.ConfigItemOf(it, false)
	}
	return writePage(w, resource.Page[apitypes.ConfigItemView]{Items: views, Continue: page.Continue})
}

func (a *API) getConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigRead, scopeOf(r)); err != nil {
		return err
	}
	var it configcenter.Item
	var redacted bool
	err := a.view(r, func(tx platform.Tx) (err error) {
		it, redacted, err = a.p.ConfigItem(r.Context(), tx, a.caller(r), configKey(r))
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apitypes.ConfigItemOf(it, redacted))
}

// configChange runs a change of the item in the path and answers the
// revision it made.
func (a *API) configChange(w http.ResponseWriter, r *http.Request, action string, fn func(tx platform.Tx, c platform.Caller, k configcenter.Key) (configcenter.Revision, error)) error {
	k := configKey(r)
	var rev configcenter.Revision
	err := a.do(r, action, k.Path(), scopeOf(r), func(tx platform.Tx) (err error) {
		rev, err = fn(tx, a.caller(r), k)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apitypes.ConfigRevisionOf(rev))
}

func (a *API) publishConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigWrite, scopeOf(r)); err != nil {
		return err
	}
	var req apitypes.ConfigPublishRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	return a.configChange(w, r, "config.publish", func(tx platform.Tx, c platform.Caller, k configcenter.Key) (configcenter.Revision, error) {
		return a.p.PublishConfig(r.Context(), tx, c, configcenter.Change{Key: k, Type: req.Type, Description: req.Description, Tags: req.Tags,
			Secret: req.Secret, Content: req.Content, Comment: req.Comment, Ticket: req.Ticket, CasMD5: req.CasMD5, Cohort: req.Cohort})
	})
}

func (a *API) deleteConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigWrite, scopeOf(r)); err != nil {
		return err
	}
	q := r.URL.Query()
	return a.configChange(w, r, "config.delete", func(tx platform.Tx, c platform.Caller, k configcenter.Key) (configcenter.Revision, error) {
		return a.p.RemoveConfig(r.Context(), tx, c, k, q.Get("comment"), q.Get("ticket"))
	})
}

func (a *API) rollbackConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigWrite, scopeOf(r)); err != nil {
		return err
	}
	var req apitypes.ConfigRollbackRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	return a.configChange(w, r, "config.rollback", func(tx platform.Tx, c platform.Caller, k configcenter.Key) (configcenter.Revision, error) {
		return a.p.RollbackConfig(r.Context(), tx, c, k, req.To, req.Comment, req.Ticket)
	})
}

// revisionParam reads the {revision} path parameter.
func revisionParam(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		var errs resource.Errors
		errs.Add(name, "must be a revision number, got %q", r.PathValue(name))
		return 0, errs.Err()
	}
	return n, nil
}

func (a *API) approveConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigApprove, scopeOf(r)); err != nil {
		return err
	}
	n, err := revisionParam(r, "revision")
	if err != nil {
		return err
	}
	return a.configChange(w, r, "config.approve", func(tx platform.Tx, c platform.Caller, k configcenter.Key) (configcenter.Revision, error) {
		return a.p.ApproveConfig(r.Context(), tx, c, k, n)
	})
}

func (a *API) rejectConfig(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigApprove, scopeOf(r)); err != nil {
		return err
	}
	n, err := revisionParam(r, "revision")
	if err != nil {
		return err
	}
	var req apitypes.ConfigRejectRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	return a.configChange(w, r, "config.reject", func(tx platform.Tx, c platform.Caller, k configcenter.Key) (configcenter.Revision, error) {
		return a.p.RejectConfig(r.Context(), tx, c, k, n, req.Reason)
	})
}

func (a *API) configGrayOp(promote bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := a.authorize(r, authz.ConfigWrite, scopeOf(r)); err != nil {
			return err
		}
		action, op := "config.abort", a.p.AbortConfigGray
		if promote {
			action, op = "config.promote", a.p.PromoteConfigGray
		}
		return a.configChange(w, r, action, func(tx platform.Tx, c platform.Caller, k configcenter.Key) (configcenter.Revision, error) {
			return op(r.Context(), tx, c, k)
		})
	}
}

func (a *API) configHistory(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigRead, scopeOf(r)); err != nil {
		return err
	}
	q := r.URL.Query()
	var errs resource.Errors
	before, limit := int64(0), resource.DefaultLimit
	if s := q.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			errs.Add("before", "must be a revision number, got %q", s)
		}
		before = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			errs.Add("limit", "must be 1 to 500, got %q", s)
		}
		limit = n
	}
	if err := errs.Err(); err != nil {
		return err
	}
	var hist []configcenter.Revision
	err := a.view(r, func(tx platform.Tx) (err error) {
		hist, err = a.p.ConfigHistory(r.Context(), tx, a.caller(r), configKey(r), before, limit)
		return err
	})
	if err != nil {
		return err
	}
	views := make([]apitypes.ConfigRevisionView, len(hist))
	for i, rev := range hist {
		views[i] = apitypes.ConfigRevisionOf(rev)
	}
	page := resource.Page[apitypes.ConfigRevisionView]{Items: views}
	if len(hist) == limit && hist[len(hist)-1].Number > 1 {
		page.Continue = strconv.FormatInt(hist[len(hist)-1].Number, 10) // the next page's before
	}
	return writePage(w, page)
}

func (a *API) configRevision(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigRead, scopeOf(r)); err != nil {
		return err
	}
	n, err := revisionParam(r, "revision")
	if err != nil {
		return err
	}
	var rev configcenter.Revision
	err = a.view(r, func(tx platform.Tx) (err error) {
		rev, err = a.p.ConfigRevision(r.Context(), tx, a.caller(r), configKey(r), n)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apitypes.ConfigRevisionOf(rev))
}

func (a *API) configDiff(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.ConfigRead, scopeOf(r)); err != nil {
		return err
	}
	q := r.URL.Query()
	var errs resource.Errors
	var nums [2]int64
	for i, name := range []string{"from", "to"} {
		n, err := strconv.ParseInt(q.Get(name), 10, 64)
		if err != nil || n <= 0 {
			errs.Add(name, "must be a revision number, got %q", q.Get(name))
		}
		nums[i] = n
	}
	if err := errs.Err(); err != nil {
		return err
	}
	var lines []configcenter.Line
	err := a.view(r, func(tx platform.Tx) (err error) {
		lines, err = a.p.ConfigDiff(r.Context(), tx, a.caller(r), configKey(r), nums[0], nums[1])
		return err
	})
	if err != nil {
		return err
	}
	if lines == nil {
		lines = []configcenter.Line{}
	}
	return writeJSON(w, http.StatusOK, apitypes.ConfigDiff{From: nums[0], To: nums[1], Lines: lines})
}

// applyConfigItem publishes a ConfigItem's content as a new revision when
// it differs from the current one (or the item is new): "published", or
// "proposed" where the environment requires approvals.
func (a *API) applyConfigItem(ctx context.Context, tx platform.Tx, c platform.Caller, md manifest.Metadata, s *manifest.ConfigItemSpec) (string, error) {
	group := s.Group
	if group == "" {
		group = configcenter.DefaultGroup
	}
	k := configcenter.Key{Tenant: md.Tenant, Project: md.Project, Environment: s.Environment, Group: group, DataID: s.DataID}
	t, ok := configcenter.ParseType(s.Type)
	if !ok {
		var errs resource.Errors
		errs.Add("type", "must be one of text, yaml, properties, json, got %q", s.Type)
		return "", errs.Err()
	}
	if s.Type == "" {
		t = ""
	}
	cur, _, err := a.p.ConfigItem(ctx, tx, c, k)
	if err == nil && cur.MD5 == configcenter.MD5(s.Content) && (t == "" || t == cur.Type) && cur.Secret == s.Secret && cur.Proposal == 0 {
		return "unchanged", nil
	}
	rev, err := a.p.PublishConfig(ctx, tx, c, configcenter.Change{Key: k, Type: t, Description: s.Description, Tags: s.Tags,
		Secret: s.Secret, Content: s.Content, Comment: s.Comment, Ticket: s.Ticket})
	if err != nil {
		return "", err
	}
	if rev.State == configcenter.Proposed {
		return "proposed", nil
	}
	return "published", nil
}
