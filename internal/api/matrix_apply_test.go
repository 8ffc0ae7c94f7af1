package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/manifest"
)

// applyCase is one manifest kind through POST /apply at some levels: the
// document's header (apiVersion, kind, metadata), its spec, and what the
// docs say applying it needs.
type applyCase struct {
	kind   manifest.Kind
	levels []authz.Level
	build  func(e *matrixEnv, tg authz.Scope, n string) (header, spec string, q request)
}

func header(kind manifest.Kind, md string) string {
	return fmt.Sprintf("apiVersion: berth.dev/v1\nkind: %s\nmetadata: %s\n", kind, md)
}

func placed(tg authz.Scope, name string) string {
	parts := []string{}
	if name != "" {
		parts = append(parts, "name: "+name)
	}
	if tg.Tenant != "" {
		parts = append(parts, "tenant: "+tg.Tenant)
	}
	if tg.Project != "" {
		parts = append(parts, "project: "+tg.Project)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// applyCases are every manifest kind (manifest.Kinds), at each level it
// lives at.
func applyCases() []applyCase {
	v := "{name: %s, image: registry.local/app1:1, tier: small, orchestration: {replicas: 1, ports: [{name: http, containerPort: 8080}]}}"
	return []applyCase{
		// One rule and one receiver per project (at most 20 receivers).
		{manifest.KindAlertRule, onProject, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindAlertRule, placed(tg, "matrix-apply")), "spec: {environment: dev, application: app1, template: restarts, threshold: \"3\"}\n",
				need("", nil, tg, authz.AlertWrite)
		}},
		{manifest.KindAlertReceiver, onProject, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindAlertReceiver, placed(tg, "matrix-apply")), "spec: {kind: webhook, url: \"https://hooks.bank.internal/alerts\"}\n",
				need("", nil, tg, authz.AlertReceiverManage)
		}},
		{manifest.KindSLO, onProject, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindSLO, placed(tg, "matrix-apply")), "spec: {environment: dev, application: app1, kind: availability, objective: 99.9}\n",
				need("", nil, tg, authz.AlertWrite)
		}},
		{manifest.KindAppInstall, onProject, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			// The harness has no chart renderer: an allowed caller is refused
			// by the server's state (409) after every permission was checked.
			q := need("", nil, tg, authz.ApplicationCreate, authz.VersionCreate, authz.DeploymentDeploy)
			q.ok = []int{http.StatusConflict}
			return header(manifest.KindAppInstall, placed(tg, "matrix-apply")), "spec: {environment: dev, chart: redis, version: 1.0.0}\n", q
		}},
		{manifest.KindPipeline, onProject, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			return header(manifest.KindPipeline, placed(tg, n)), "spec: {application: app1, source: {repository: \"https://git.example/bank/app1.git\"}, " +
					"build: {type: go, package: ., image: registry.example/bank/app1, owner: {user: dora}}, delivery: {tier: small}, webhook: {provider: github}}\n",
				need("", nil, tg, authz.PipelineWrite)
		}},
		{manifest.KindConfigItem, onProject, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			return header(manifest.KindConfigItem, placed(tg, "")), "spec: {environment: dev, dataId: " + n + ".properties, type: properties, content: \"a=1\"}\n",
				need("", nil, tg, authz.ConfigWrite)
		}},
		{manifest.KindCluster, onPlatform, func(_ *matrixEnv, _ authz.Scope, n string) (string, string, request) {
			return header(manifest.KindCluster, "{name: "+n+"}"), "spec: {kubeconfig: " + strconv.Quote(kubeconfigFor("https://127.0.0.1:1")) + "}\n",
				need("", nil, authz.Platform, authz.ClusterCreate)
		}},
		{manifest.KindResourceTier, onPlatform, func(_ *matrixEnv, _ authz.Scope, n string) (string, string, request) {
			return header(manifest.KindResourceTier, "{name: "+n+"}"), "spec: {requests: {cpu: 100m, memory: 128Mi}}\n",
				need("", nil, authz.Platform, authz.TierCreate)
		}},
		{manifest.KindTenant, onPlatform, func(_ *matrixEnv, _ authz.Scope, n string) (string, string, request) {
			return header(manifest.KindTenant, "{name: "+n+"}"), "spec: {displayName: New}\n", need("", nil, authz.TenantScope(n), authz.TenantCreate)
		}},
		{manifest.KindProject, onTenant, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			return header(manifest.KindProject, placed(tg, n)), "spec: {displayName: New}\n",
				need("", nil, authz.ProjectScope(tg.Tenant, n), authz.ProjectCreate)
		}},
		{manifest.KindQuota, onTenant, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindQuota, placed(tg, "")), "spec: {hard: {cpu: \"1000\"}}\n", need("", nil, tg, authz.TenantQuotaSet)
		}},
		{manifest.KindQuota, onProject, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindQuota, placed(tg, "")), "spec: {hard: {cpu: \"100\"}}\n", need("", nil, tg, authz.ProjectQuotaSet)
		}},
		{manifest.KindMember, onEvery, func(e *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			e.newUser(n)
			return header(manifest.KindMember, placed(tg, "")), "spec: {user: " + n + ", role: viewer}\n", need("", nil, tg, authz.MemberCreate)
		}},
		{manifest.KindGroupBinding, onEvery, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			// Granting at any scope, it is the platform admins' alone.
			return header(manifest.KindGroupBinding, placed(tg, n)), "spec: {provider: corp, group: \"cn=" + n + ",dc=bank\", role: viewer}\n",
				need("", nil, authz.Platform, authz.GroupBindingManage)
		}},
		{manifest.KindTerminalPolicy, onPlatform, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			// It decides what every role may run: the platform admins' alone.
			return header(manifest.KindTerminalPolicy, placed(tg, n)), "spec: {role: viewer, mode: restricted, commands: [tail], paths: [/var/log/**]}\n",
				need("", nil, authz.Platform, authz.TerminalPolicyManage)
		}},
		{manifest.KindEnvironment, onProject, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			return header(manifest.KindEnvironment, placed(tg, n)), "spec: {cluster: c1, namespace: ns-" + n + "}\n",
				need("", nil, tg, authz.EnvironmentCreate)
		}},
		{manifest.KindApplication, onProject, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			return header(manifest.KindApplication, placed(tg, n)), "spec: {displayName: New}\n", need("", nil, tg, authz.ApplicationCreate)
		}},
		{manifest.KindApplication, onProject, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			// With a version: creating versions needs its own permission.
			return header(manifest.KindApplication, placed(tg, n)), "spec:\n  version: " + fmt.Sprintf(v, "v1") + "\n",
				need("", nil, tg, authz.ApplicationCreate, authz.VersionCreate)
		}},
		{manifest.KindGrayPlan, onProject, func(e *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			e.h.must(http.StatusCreated, e.admin, "POST", pp(tg)+"/applications/app1/versions", version(n))
			q := need("", nil, tg, authz.GrayManage)
			q.ok = []int{http.StatusOK, http.StatusConflict} // a plan of another version may run
			return header(manifest.KindGrayPlan, placed(tg, "app1")), "spec: {environment: dev, grayVersion: " + n + ", steps: [{tellers: [T900]}]}\n", q
		}},
		{manifest.KindReleaseOrder, onProject, func(_ *matrixEnv, tg authz.Scope, n string) (string, string, request) {
			// Never applied: whoever may create release orders is told how to
			// create one; others are refused.
			q := need("", nil, tg, authz.ReleaseCreate)
			q.ok = []int{http.StatusUnprocessableEntity}
			return header(manifest.KindReleaseOrder, placed(tg, n)), "spec: {environment: dev, title: t, items: [{application: app1, version: v1}]}\n", q
		}},
		{manifest.KindPortPool, onPlatform, func(*matrixEnv, authz.Scope, string) (string, string, request) {
			return header(manifest.KindPortPool, "{name: c1}"), "spec: {ports: 30000-32767}\n", need("", nil, authz.Platform, authz.PortPoolSet)
		}},
		{manifest.KindPortGrant, onTenant, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindPortGrant, placed(tg, "")), "spec: {cluster: c1, ports: " + matrixTenantPorts[tg.Tenant] + "}\n",
				need("", nil, tg, authz.PortPoolSet)
		}},
		{manifest.KindPortGrant, onProject, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindPortGrant, placed(tg, "")), "spec: {cluster: c1, ports: " + matrixProjectPorts[tg.Tenant+"/"+tg.Project] + "}\n",
				need("", nil, tg, authz.ProjectPortsSet)
		}},
		{manifest.KindNetworkIsolation, onTenant, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindNetworkIsolation, placed(tg, "")), "spec: {level: tenant}\n", need("", nil, tg, authz.IsolationSet)
		}},
		{manifest.KindNetworkIsolation, onProject, func(_ *matrixEnv, tg authz.Scope, _ string) (string, string, request) {
			return header(manifest.KindNetworkIsolation, placed(tg, "")), "spec: {level: application}\n", need("", nil, tg, authz.IsolationSet)
		}},
	}
}

// runApply walks every manifest kind through POST /apply as every
// subject, then a manifest mixing a document the caller may apply with
// one of another tenant: refused whole, nothing written.
func (e *matrixEnv) runApply(subjects []subject) {
	var kinds []manifest.Kind
	for _, c := range applyCases() {
		kinds = append(kinds, c.kind)
		for _, l := range c.levels {
			for _, tg := range matrixTargets[l] {
				for i := range subjects {
					s := &subjects[i]
					hd, spec, q := c.build(e, tg, e.fresh())
					q.path, q.body = "/apply", hd+spec
					q.garbage = hd + "spec: {noSuchField: [1, 2]}\n"
					if q.ok == nil {
						q.ok = []int{http.StatusOK}
					}
					e.check(s, "POST", q)
				}
			}
		}
	}
	for _, k := range manifest.Kinds() {
		if !slices.Contains(kinds, k) {
			e.t.Errorf("manifest kind %s is not in the role matrix's /apply cases", k)
		}
	}
	for i := range subjects {
		s := &subjects[i]
		own, foreign := e.fresh(), e.fresh()
		doc := header(manifest.KindApplication, placed(authz.ProjectScope(tenA, "p1"), own)) + "---\n" +
			header(manifest.KindApplication, placed(authz.ProjectScope(tenB, "p1"), foreign))
		q := request{path: "/apply", body: doc, ok: []int{http.StatusOK}, garbage: doc + "spec: {noSuchField: 1}\n", allow: func(bs []authz.Binding) bool {
			return expect(e.t, bs, authz.ApplicationCreate, authz.ProjectScope(tenA, "p1")) &&
				expect(e.t, bs, authz.ApplicationCreate, authz.ProjectScope(tenB, "p1"))
		}}
		e.check(s, "POST", q)
		if !q.allow(s.bindings) && e.exists(pp(authz.ProjectScope(tenA, "p1"))+"/applications/"+own)() {
			e.t.Errorf("POST /apply as %s was refused for the other tenant's document, but its own was written", s.name)
		}
	}
}
