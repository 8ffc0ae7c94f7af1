package api

import (
	"berth.dev/berth/internal/alert"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/manifest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/slo"
	"berth.dev/berth/internal/tenancy"
	"sigs.k8s.io/yaml"
)

func (a *API) registerApply() {
	a.route(Route{Method: "POST", Path: "/apply", Summary: "Apply a multi-document berth.dev/v1 YAML manifest, all or nothing",
		Request: "Manifest", Response: "ApplyResult"}, a.apply)
}

type doc struct {
	index int
	obj   manifest.Object
}

// apply decodes every document, checks the caller's permission for each,
// then creates or updates them in one transaction in dependency order
// (clusters and tiers, tenants, projects, quotas, members, environments,
// applications): all of them, or none.
func (a *API) apply(w http.ResponseWriter, r *http.Request) error {
	// Each document is authorized below, once decoded; errors in the
	// caller's own manifest are reported before that.
	decide(r)
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !slices.Contains([]string{"application/yaml", "application/x-yaml", "text/yaml", "application/json", "text/plain"}, mt) {
			return errUnsupportedMedia
		}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if err := a.authorizeHeaders(r, data); err != nil {
		return err
	}
	objs, err := manifest.Decode(data)
	if err != nil {
		return err
	}
	docs := ordered(data, objs)
	for _, d := range docs {
		perms, scope := permissionsOf(d.obj)
		for _, perm := range perms {
			if err := a.authorize(r, perm, scope); err != nil {
				return fmt.Errorf("document %d: %w", d.index, err)
			}
		}
		if m, ok := d.obj.Spec.(*manifest.MemberSpec); ok && !authz.CanGrant(principalOf(r).bindings, m.Role, scope) {
			a.auditDenied(r, authz.UserCreate, scope)
			return errForbidden
		}
	}
	charts, err := a.prepareCharts(r, docs)
	if err != nil {
		return err
	}
	var res apitypes.ApplyResult
	err = a.do(r, "manifest.apply", "apply", authz.Platform, func(tx platform.Tx) error {
		res.Objects = res.Objects[:0]
		for _, d := range docs {
			var action, secret string
			var err error
			if pc, ok := charts[d.index]; ok {
				action, err = a.p.ApplyChart(r.Context(), tx, a.caller(r), pc)
			} else if s, ok := d.obj.Spec.(*manifest.PipelineSpec); ok {
				action, secret, err = a.applyPipelineKind(r.Context(), tx, a.caller(r), d.obj.Metadata, s)
			} else {
				action, err = a.applyOne(r.Context(), tx, a.caller(r), d.obj)
			}
			if err != nil {
				return docError(d, err)
			}
			res.Objects = append(res.Objects, apitypes.Applied{Document: d.index, Kind: d.obj.Kind, Name: nameOf(d.obj), Action: action, WebhookSecret: secret})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// authorizeHeaders authorizes every document whose kind and metadata can
// be read, before the manifest is validated: a caller refused a document
// learns nothing from the errors of its spec. What is wrong with the other
// documents is only the caller's own text, and Decode names it.
func (a *API) authorizeHeaders(r *http.Request, data []byte) error {
	for i, d := range manifest.Split(data) {
		js, err := yaml.YAMLToJSON(d)
		if err != nil {
			continue
		}
		var h struct {
			Kind     manifest.Kind     `json:"kind"`
			Metadata manifest.Metadata `json:"metadata"`
		}
		if json.Unmarshal(js, &h) != nil || !slices.Contains(manifest.Kinds(), h.Kind) {
			continue
		}
		perms, scope := permissionsOf(manifest.Object{Kind: h.Kind, Metadata: h.Metadata})
		for _, perm := range perms {
			if err := a.authorize(r, perm, scope); err != nil {
				return fmt.Errorf("document %d: %w", i+1, err)
			}
		}
	}
	return nil
}

// ordered sorts objects into apply order, keeping each one's document
// index (1-based, counting non-empty documents as Decode does).
func ordered(data []byte, objs []manifest.Object) []doc {
	var idx []int
	for i, d := range manifest.Split(data) {
		if strings.TrimSpace(stripComments(string(d))) != "" {
			idx = append(idx, i+1)
		}
	}
	docs := make([]doc, len(objs))
	for i, o := range objs {
		docs[i] = doc{index: i + 1, obj: o}
		if i < len(idx) {
			docs[i].index = idx[i]
		}
	}
	rank := func(k manifest.Kind) int { return slices.Index(manifest.Kinds(), k) }
	slices.SortStableFunc(docs, func(x, y doc) int { return rank(x.obj.Kind) - rank(y.obj.Kind) })
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(t)
		}
	}
	return b.String()
}

func nameOf(o manifest.Object) string {
	switch s := o.Spec.(type) {
	case *manifest.MemberSpec:
		return s.User + ":" + string(s.Role)
	}
	if o.Metadata.Name != "" {
		return o.Metadata.Name
	}
	return o.Metadata.Tenant + "/" + o.Metadata.Project
}

// permissionsOf is what applying o requires: the create permission of
// its kind (every role that may update a kind may also create it), both
// application and version creation for an application with a version, and
// the quota and member permissions of their own.
func permissionsOf(o manifest.Object) ([]authz.Permission, authz.Scope) {
	md := o.Metadata
	one := func(p authz.Permission, s authz.Scope) ([]authz.Permission, authz.Scope) {
		return []authz.Permission{p}, s
	}
	switch o.Kind {
	case manifest.KindCluster:
		return one(authz.ClusterCreate, authz.Platform)
	case manifest.KindResourceTier:
		return one(authz.TierCreate, authz.Platform)
	case manifest.KindTenant:
		return one(authz.TenantCreate, authz.TenantScope(md.Name))
	case manifest.KindProject:
		return one(authz.ProjectCreate, authz.ProjectScope(md.Tenant, md.Name))
	case manifest.KindQuota:
		if md.Project == "" {
			return one(authz.TenantQuotaSet, authz.TenantScope(md.Tenant))
		}
		return one(authz.ProjectQuotaSet, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindMember:
		return one(authz.MemberCreate, authz.Scope{Tenant: md.Tenant, Project: md.Project})
	case manifest.KindGroupBinding:
		// It can grant any role anywhere: the platform's decision.
		return one(authz.GroupBindingManage, authz.Platform)
	case manifest.KindTerminalPolicy:
		// It decides what every role may run in a terminal.
		return one(authz.TerminalPolicyManage, authz.Platform)
	case manifest.KindEnvironment:
		return one(authz.EnvironmentCreate, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindGrayPlan:
		return one(authz.GrayManage, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindReleaseOrder:
		// Never applied; whoever may create one is told how.
		return one(authz.ReleaseCreate, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindConfigItem:
		return one(authz.ConfigWrite, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindAlertRule:
		if s, ok := o.Spec.(*manifest.AlertRuleSpec); ok && s.Expr != "" {
			return []authz.Permission{authz.AlertWrite, authz.AlertCustom}, authz.ProjectScope(md.Tenant, md.Project)
		}
		return one(authz.AlertWrite, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindAlertReceiver:
		return one(authz.AlertReceiverManage, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindSLO:
		return one(authz.AlertWrite, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindAppInstall:
		// As an install; a changed one is a new version and a release order.
		return []authz.Permission{authz.ApplicationCreate, authz.VersionCreate, authz.DeploymentDeploy}, authz.ProjectScope(md.Tenant, md.Project)
	case manifest.KindPipeline:
		return one(authz.PipelineWrite, authz.ProjectScope(md.Tenant, md.Project))
	case manifest.KindPortPool, manifest.KindPortGrant, manifest.KindNetworkIsolation:
		perm, scope, _ := netPermissionsOf(o)
		return one(perm, scope)
	case manifest.KindApplication:
		perms := []authz.Permission{authz.ApplicationCreate}
		if s, ok := o.Spec.(*manifest.ApplicationSpec); ok && s.Version != nil {
			perms = append(perms, authz.VersionCreate)
		}
		return perms, authz.ProjectScope(md.Tenant, md.Project)
	}
	return one(authz.UserCreate, authz.Platform) // unknown kinds do not decode; refuse anyway
}

// prepareCharts renders the AppInstall documents that change an install
// (platform.PrepareChart), before the transaction: rendering reads the
// environment's cluster. Their environments must exist already.
func (a *API) prepareCharts(r *http.Request, docs []doc) (map[int]platform.PreparedChart, error) {
	out := map[int]platform.PreparedChart{}
	for _, d := range docs {
		s, ok := d.obj.Spec.(*manifest.AppInstallSpec)
		if !ok {
			continue
		}
		in, err := appInstallOf(d.obj.Metadata, s)
		if err == nil {
			out[d.index], err = a.p.PrepareChart(r.Context(), a.caller(r), in)
		}
		if err != nil {
			return nil, docError(d, err)
		}
	}
	return out, nil
}

func appInstallOf(md manifest.Metadata, s *manifest.AppInstallSpec) (appstore.Install, error) {
	in := appstore.Install{Tenant: md.Tenant, Project: md.Project, Name: md.Name, Environment: s.Environment, Catalog: s.Catalog,
		Chart: s.Chart, Version: s.Version, AllowCRDs: s.AllowCRDs}
	if in.Catalog == "" {
		in.Catalog = "starter"
	}
	if len(s.Values) > 0 {
		data, err := yaml.Marshal(s.Values)
		if err != nil {
			return appstore.Install{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "values", Reason: err.Error()}}}
		}
		in.Values = string(data)
	}
	return in, nil
}

// docError names the document in err: field errors become a
// *manifest.Error with paths from the document root, other errors are
// wrapped with the document's name.
func docError(d doc, err error) error {
	var ve *resource.ValidationError
	if !errors.As(err, &ve) {
		me := &manifest.Error{Index: d.index, Kind: d.obj.Kind, Name: d.obj.Metadata.Name}
		return fmt.Errorf("%s: %w", me.Where(), err)
	}
	prefix := "spec."
	var verr *versionError
	if errors.As(err, &verr) {
		prefix = "spec.version."
	}
	out := &manifest.Error{Index: d.index, Kind: d.obj.Kind, Name: d.obj.Metadata.Name}
	for _, f := range ve.Fields {
		p := f.Path
		if d.obj.Kind == manifest.KindResourceTier {
			p = strings.TrimPrefix(p, "resources.")
		}
		switch {
		case p == "name" && prefix == "spec.":
			p = "metadata.name"
		case p == "tenant" || p == "project":
			p = "metadata." + p
		default:
			p = prefix + p
		}
		out.Fields = append(out.Fields, resource.FieldError{Path: p, Reason: f.Reason})
	}
	return out
}

type versionError struct{ err error }

func (e *versionError) Error() string { return "version: " + e.err.Error() }
func (e *versionError) Unwrap() error { return e.err }

// applyOne creates or updates one object and says which it did.
func (a *API) applyOne(ctx context.Context, tx platform.Tx, c platform.Caller, o manifest.Object) (string, error) {
	act := c.Actor
	md := o.Metadata
	switch s := o.Spec.(type) {
	case *manifest.ClusterSpec:
		return a.applyCluster(ctx, tx, act, md, s)
	case *manifest.ResourceTierSpec:
		return a.applyTier(ctx, tx, act, md, s)
	case *manifest.TenantSpec:
		return a.applyTenant(ctx, tx, act, md, s)
	case *manifest.ProjectSpec:
		return a.applyProject(ctx, tx, act, md, s)
	case *manifest.QuotaSpec:
		return a.applyQuota(ctx, tx, act, md, s)
	case *manifest.MemberSpec:
		m := tenancy.Member{Scope: tenancy.Scope{Tenant: md.Tenant, Project: md.Project}, User: s.User, Role: tenancy.Role(s.Role)}
		if err := a.userMustExist(ctx, tx, "spec.user", s.User); err != nil {
			return "", err
		}
		_, err := a.p.Tenancy.AddMember(ctx, tx, act, m)
		if errors.Is(err, resource.ErrAlreadyExists) {
			return "unchanged", nil
		}
		return "created", err
	case *manifest.GroupBindingSpec:
		return a.applyGroupBinding(ctx, tx, c, md, s)
	case *manifest.TerminalPolicySpec:
		_, action, err := a.p.ApplyTerminalPolicy(ctx, tx, c, s.Policy(md.Name))
		return action, err
	case *manifest.EnvironmentSpec:
		return a.applyEnvironment(ctx, tx, act, md, s)
	case *manifest.GrayPlanSpec:
		return a.applyGrayPlan(ctx, tx, c, md, s)
	case *manifest.ApplicationSpec:
		return a.applyApplication(ctx, tx, act, md, s)
	case *manifest.ConfigItemSpec:
		return a.applyConfigItem(ctx, tx, c, md, s)
	case *manifest.AlertRuleSpec:
		return a.p.ApplyAlertRule(ctx, tx, c, alert.Rule{Tenant: md.Tenant, Project: md.Project, Name: md.Name,
			Environment: s.Environment, Application: s.Application, Template: s.Template, Threshold: s.Threshold, Window: s.Window,
			Expr: s.Expr, For: s.For, Severity: s.Severity, Labels: s.Labels, Summary: s.Summary})
	case *manifest.AlertReceiverSpec:
		return a.p.ApplyAlertReceiver(ctx, tx, c, alert.Receiver{Tenant: md.Tenant, Project: md.Project, Name: md.Name,
			Kind: s.Kind, URL: s.URL, Severities: s.Severities})
	case *manifest.SLOSpec:
		return a.p.ApplySLO(ctx, tx, c, slo.SLO{Tenant: md.Tenant, Project: md.Project, Name: md.Name, Environment: s.Environment,
			Application: s.Application, Kind: s.Kind, Objective: s.Objective, Threshold: s.Threshold, Window: s.Window})
	case *manifest.ReleaseOrderSpec:
		return "", &resource.ValidationError{Fields: []resource.FieldError{{Path: "kind",
			Reason: "a ReleaseOrder is not applied: create it with `berth release create -f FILE`, once per release"}}}
	}
	if action, ok, err := a.applyNet(ctx, tx, act, o); ok {
		return action, err
	}
	return "", fmt.Errorf("apply %s: unsupported kind", o.Kind)
}

func (a *API) applyCluster(ctx context.Context, tx platform.Tx, act audit.Actor, md manifest.Metadata, s *manifest.ClusterSpec) (string, error) {
	c := tenancy.Cluster{Name: md.Name, DisplayName: s.DisplayName, Zone: s.Zone, Labels: s.Labels, QPS: s.QPS, Burst: s.Burst}
	if s.Kubeconfig != "" {
		// Parsed, not probed: a manifest is applied in one transaction,
		// which waits on no cluster. The cluster's status shows whether it
		// answers.
		if err := kube.CheckKubeconfig([]byte(s.Kubeconfig)); err != nil {
			return "", err
		}
	}
	old, err := a.p.Tenancy.GetCluster(ctx, tx, md.Name)
	if errors.Is(err, resource.ErrNotFound) {
		_, err = a.p.Tenancy.RegisterCluster(ctx, tx, act, c, []byte(s.Kubeconfig))
		return "created", err
	}
	if err != nil {
		return "", err
	}
	c.ResourceVersion = old.ResourceVersion
	_, err = a.p.Tenancy.UpdateCluster(ctx, tx, act, c, []byte(s.Kubeconfig))
	return "updated", err
}

func (a *API) applyTier(ctx context.Context, tx platform.Tx, act audit.Actor, md manifest.Metadata, s *manifest.ResourceTierSpec) (string, error) {
	t := apps.Tier{Name: md.Name, DisplayName: s.DisplayName, Description: s.Description, Capacity: s.Capacity,
		Resources: apps.Resources{Requests: s.Requests, Limits: s.Limits}}
	old, err := a.p.Apps.GetTier(ctx, tx, md.Name)
	if errors.Is(err, resource.ErrNotFound) {
		_, err = a.p.Apps.CreateTier(ctx, tx, act, t)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	t.ResourceVersion = old.ResourceVersion
	_, err = a.p.Apps.UpdateTier(ctx, tx, act, t)
	return "updated", err
}

func (a *API) applyTenant(ctx context.Context, tx platform.Tx, act audit.Actor, md manifest.Metadata, s *manifest.TenantSpec) (string, error) {
	t := tenancy.Tenant{Name: md.Name, DisplayName: s.DisplayName, Description: s.Description}
	old, err := a.p.Tenancy.GetTenant(ctx, tx, md.Name)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		_, err = a.p.Tenancy.CreateTenant(ctx, tx, act, t)
		return "created", err
	case err != nil:
		return "", err
	case old.DisplayName == t.DisplayName && old.Description == t.Description:
		return "unchanged", nil
	}
	t.ResourceVersion = old.ResourceVersion
	_, err = a.p.Tenancy.UpdateTenant(ctx, tx, act, t)
	return "updated", err
}

func (a *API) applyProject(ctx context.Context, tx platform.Tx, act audit.Actor, md manifest.Metadata, s *manifest.ProjectSpec) (string, error) {
	p := tenancy.Project{Tenant: md.Tenant, Name: md.Name, DisplayName: s.DisplayName, Description: s.Description}
	old, err := a.p.Tenancy.GetProject(ctx, tx, md.Tenant, md.Name)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		_, err = a.p.Tenancy.CreateProject(ctx, tx, act, p)
		return "created", err
	case err != nil:
		return "", err
	case old.DisplayName == p.DisplayName && old.Description == p.Description:
		return "unchanged", nil
	}
	p.ResourceVersion = old.ResourceVersion
	_, err = a.p.Tenancy.UpdateProject(ctx, tx, act, p)
	return "updated", err
}

func (a *API) applyQuota(ctx context.Context, tx platform.Tx, act audit.Actor, md manifest.Metadata, s *manifest.QuotaSpec) (string, error) {
	sc := tenancy.Scope{Tenant: md.Tenant, Project: md.Project}
	q := tenancy.Quota{Scope: sc, Hard: s.Hard}
	action := "created"
	old, err := a.p.Tenancy.GetQuota(ctx, tx, sc)
	switch {
	case err == nil:
		q.ResourceVersion, action = old.ResourceVersion, "updated"
	case !errors.Is(err, resource.ErrNotFound):
		return "", err
	}
	_, err = a.p.Tenancy.SetQuota(ctx, tx, act, q)
	return action, err
}

func (a *API) applyEnvironment(ctx context.Context, tx platform.Tx, act audit.Actor, md manifest.Metadata, s *manifest.EnvironmentSpec) (string, error) {
	e := tenancy.Environment{Tenant: md.Tenant, Project: md.Project, Name: md.Name, Cluster: s.Cluster, Namespace: s.Namespace, Description: s.Description,
		RequiredApprovals: s.RequiredApprovals, Traffic: s.Traffic, Gateway: s.Gateway}
	old, err := a.p.Tenancy.GetEnvironment(ctx, tx, md.Tenant, md.Project, md.Name)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		_, err = a.p.Tenancy.CreateEnvironment(ctx, tx, act, e)
		return "created", err
	case err != nil:
		return "", err
	case old.Cluster == e.Cluster && old.Namespace == e.Namespace && old.Description == e.Description &&
		old.RequiredApprovals == e.RequiredApprovals && old.Traffic == e.Traffic && old.Gateway == e.Gateway:
		return "unchanged", nil
	}
	e.ResourceVersion = old.ResourceVersion
	_, err = a.p.Tenancy.UpdateEnvironment(ctx, tx, act, e)
	return "updated", err
}

func (a *API) applyApplication(ctx context.Context, tx platform.Tx, act audit.Actor, md manifest.Metadata, s *manifest.ApplicationSpec) (string, error) {
	app := apps.Application{Tenant: md.Tenant, Project: md.Project, Name: md.Name, DisplayName: s.DisplayName, Description: s.Description}
	action := "unchanged"
	old, err := a.p.Apps.GetApplication(ctx, tx, md.Tenant, md.Project, md.Name)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		if old, err = a.p.Apps.CreateApplication(ctx, tx, act, app); err != nil {
			return "", err
		}
		action = "created"
	case err != nil:
		return "", err
	case old.DisplayName != app.DisplayName || old.Description != app.Description:
		app.ResourceVersion = old.ResourceVersion
		if old, err = a.p.Apps.UpdateApplication(ctx, tx, act, app); err != nil {
			return "", err
		}
		action = "updated"
	}
	vs := s.Version
	if vs == nil || old.CurrentVersion == vs.Name {
		return action, nil
	}
	if action == "unchanged" {
		action = "updated"
	}
	_, err = a.p.Apps.GetVersion(ctx, tx, md.Tenant, md.Project, md.Name, vs.Name)
	if errors.Is(err, resource.ErrNotFound) {
		v := apps.Version{Tenant: md.Tenant, Project: md.Project, Application: md.Name, Name: vs.Name, Image: vs.Image,
			Digest: vs.Digest, Source: vs.Source, Orchestration: vs.Orchestration, Tier: vs.Tier, Pipeline: vs.Pipeline}
		_, err = a.p.Apps.CreateVersion(ctx, tx, act, v, apps.VersionOptions{Activate: true})
		if err != nil {
			return "", &versionError{err}
		}
		return action, nil
	}
	if err != nil {
		return "", err
	}
	_, err = a.p.Apps.SetCurrentVersion(ctx, tx, act, md.Tenant, md.Project, md.Name, vs.Name, 0)
	return action, err
}

// applyGrayPlan starts the plan when none is active, or brings the active
// one to the manifest's steps, current step, side and gray replicas. A plan
// running another gray version, or already promoted, is a conflict: finish
// it with `berth gray` first.
func (a *API) applyGrayPlan(ctx context.Context, tx platform.Tx, c platform.Caller, md manifest.Metadata, s *manifest.GrayPlanSpec) (string, error) {
	spec := gray.Plan{Tenant: md.Tenant, Project: md.Project, Environment: s.Environment, Application: md.Name, GrayVersion: s.GrayVersion,
		Strategy: s.Strategy, GrayReplicas: s.GrayReplicas, Steps: s.Steps, Step: s.Step, Side: s.Side}
	old, err := tx.GetPlan(ctx, spec.Key())
	switch {
	case errors.Is(err, resource.ErrNotFound) || (err == nil && !old.Phase.Active()):
		_, err = a.p.StartGrayPlan(ctx, tx, c, spec)
		return "created", err
	case err != nil:
		return "", err
	case old.Phase != gray.Running || old.GrayVersion != s.GrayVersion || (s.Strategy != "" && old.Strategy != s.Strategy):
		return "", resource.Refused("the gray plan of %s in %s is %s with %s %s; finish it with berth gray first",
			md.Name, s.Environment, old.Phase, old.Strategy, old.GrayVersion)
	}
	want := gray.Change{Steps: &spec.Steps, Step: &spec.Step}
	if s.Side != "" {
		want.Side = &spec.Side
	}
	if s.GrayReplicas != nil {
		want.GrayReplicas = s.GrayReplicas
	}
	if equalPlan(old, spec) {
		return "unchanged", nil
	}
	_, err = a.p.SetGrayPlan(ctx, tx, c, spec.Key(), want)
	return "updated", err
}

func equalPlan(old, spec gray.Plan) bool {
	a, _ := json.Marshal([]any{old.Steps, old.Step})
	b, _ := json.Marshal([]any{spec.Steps, spec.Step})
	return string(a) == string(b) && (spec.Side == "" || spec.Side == old.Side) &&
		(spec.GrayReplicas == nil || (old.GrayReplicas != nil && *old.GrayReplicas == *spec.GrayReplicas))
}
