package api

import (
	"io"
	"net/http"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

var auditQuery = []string{"actor", "tenant", "project", "action", "since", "until"}

func (a *API) registerAudit() {
	a.route(Route{Method: "GET", Path: "/audit", Summary: "List audit records, newest first",
		Query: append(append([]string{}, auditQuery...), pageQuery...), Response: "List[AuditRecord]"}, a.listAudit)
	a.route(Route{Method: "GET", Path: "/audit/export", Summary: "Export audit records, oldest first, as JSON lines or CSV",
		Query: append(append([]string{}, auditQuery...), "format"), Response: "AuditExport"}, a.exportAudit)
	a.route(Route{Method: "POST", Path: "/audit/verify", Summary: "Verify the hash chain, and optionally that it holds the anchors given; names the first bad record",
		Request: "VerifyRequest", Response: "VerifyReport", OptionalBody: true, Status: http.StatusOK}, a.verifyAudit)
}

// auditFilter reads the filters and confines callers without a
// platform-wide view to a tenant, or a project, they may audit. The times
// are read only once the caller may read the trail.
func (a *API) auditFilter(r *http.Request) (audit.Filter, error) {
	f, err := a.auditScope(r)
	if err != nil {
		return f, err
	}
	if f.Since, err = parseTime(r, "since"); err != nil {
		return f, err
	}
	f.Until, err = parseTime(r, "until")
	return f, err
}

// auditScope authorizes the trail the filters name.
func (a *API) auditScope(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Actor: q.Get("actor"), Tenant: q.Get("tenant"), Project: q.Get("project"), Action: q.Get("action")}
	if f.Project != "" && f.Tenant == "" {
		decide(r) // refused before anything is read, whoever asks
		return f, &resource.ValidationError{Fields: []resource.FieldError{{Path: "project",
			Reason: "needs tenant: project names are per tenant"}}}
	}
	bindings := principalOf(r).bindings
	if authz.Allowed(bindings, authz.AuditRead, authz.Platform) {
		return f, a.authorize(r, authz.AuditRead, authz.Platform)
	}
	if f.Tenant == "" {
		// Without a platform-wide view, a tenant (or project) must be named,
		// unless the caller audits exactly one.
		var tenants, projects []authz.Scope
		for _, b := range bindings {
			switch {
			case !authz.Has(b.Role, authz.AuditRead):
			case b.Scope.Level() == authz.TenantLevel:
				tenants = append(tenants, b.Scope)
			case b.Scope.Level() == authz.ProjectLevel:
				projects = append(projects, b.Scope)
			}
		}
		switch {
		case len(tenants) == 1:
			f.Tenant = tenants[0].Tenant
		case len(tenants) == 0 && len(projects) == 1:
			f.Tenant, f.Project = projects[0].Tenant, projects[0].Project
		default:
			return f, a.authorize(r, authz.AuditRead, authz.Platform)
		}
	}
	if f.Project != "" {
		// A project's trail: a tenant auditor or the project's own.
		return f, a.authorize(r, authz.AuditRead, authz.ProjectScope(f.Tenant, f.Project))
	}
	return f, a.authorize(r, authz.AuditRead, authz.TenantScope(f.Tenant))
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := a.auditFilter(r)
	if err != nil {
		return err
	}
	o, err := listOptions(r)
	if err != nil {
		return err
	}
	var page resource.Page[audit.Record]
	err = a.view(r, func(tx platform.Tx) error {
		page, err = a.p.Audit.List(r.Context(), tx, f, o)
		return err
	})
	if err != nil {
		return err
	}
	return writePage(w, page)
}

func (a *API) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := a.auditFilter(r)
	if err != nil {
		return err
	}
	format := audit.Format(r.URL.Query().Get("format"))
	ctype := "application/x-ndjson"
	switch format {
	case "", audit.JSONLines:
		format = audit.JSONLines
	case audit.CSV:
		ctype = "text/csv; charset=utf-8"
	default:
		return &resource.ValidationError{Fields: []resource.FieldError{{Path: "format", Reason: "must be jsonl or csv"}}}
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="berth-audit.`+string(format)+`"`)
	cw := &countingWriter{w: w}
	err = a.view(r, func(tx platform.Tx) error {
		return a.p.Audit.Export(r.Context(), tx, f, format, cw)
	})
	if err != nil && cw.n > 0 {
		// The status is sent; the body ends short and the cause is logged.
		a.log.Error("audit export cut short", "request_id", requestID(r), "bytes", cw.n, "err", err)
		return nil
	}
	return err
}

// countingWriter counts what went through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (a *API) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	if err := a.authorize(r, authz.AuditVerify, authz.Platform); err != nil {
		return err
	}
	var req apitypes.VerifyRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	var rep audit.Report
	err := a.view(r, func(tx platform.Tx) error {
		var err error
		rep, err = a.p.Audit.VerifyAnchored(r.Context(), tx, req.Anchors)
		return err
	})
	if err != nil {
		return err
	}
	out := apitypes.VerifyReport{OK: rep.OK(), Checked: rep.Checked, From: rep.From, To: rep.To, HeadHash: rep.HeadHash,
		Anchored: rep.Anchored, Pruned: rep.Pruned}
	if b := rep.Broken; b != nil {
		out.Broken = &apitypes.BrokenRecord{Seq: b.Seq, Problem: b.Problem, Detail: b.Detail}
	}
	return writeJSON(w, http.StatusOK, out)
}
