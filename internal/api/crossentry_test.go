package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/cli/appcmd"
	"berth.dev/berth/internal/cli/applycmd"
	"berth.dev/berth/internal/cli/graycmd"
	"berth.dev/berth/internal/cli/releasecmd"
	"berth.dev/berth/internal/client"
	"berth.dev/berth/internal/store/storetest"
	"berth.dev/berth/internal/tenancy"
)

// The cross-feature rules hold for every way in (docs/release-orders.md,
// "Who may change what runs"): each case names one operation under one
// rule and the outcome written here by hand; the test makes the attempt
// through every entry point that reaches the operation — the HTTP route,
// a manifest sent to /apply, the CLI verb and `berth apply` — each in a
// fresh copy of the case's world, and every one must see that outcome. A
// refused attempt also leaves a failure (or denial) as the newest audit
// record.

// outcome is what a caller sees: accepted (any 2xx), or a refusal's status,
// error code and a fragment of its message.
type outcome struct {
	status  int
	code    string
	message string
}

var accepted = outcome{}

func refused(fragment string) outcome {
	return outcome{status: http.StatusConflict, code: "refused", message: fragment}
}

var (
	forbidden     = outcome{status: http.StatusForbidden, code: "forbidden"}
	quotaExceeded = outcome{status: http.StatusUnprocessableEntity, code: "quota_exceeded", message: "cpu"}
)

// world is the state an attempt starts from.
type world struct {
	admin  string // the platform admin's token
	caller string // the token attempts are made with
	// orders are release orders by name: "held" runs and holds app1 in
	// dev, "next" is approved and waits, "approved" is an approved order
	// of app1 v2 in prod.
	orders map[string]string
}

// crossCase is one operation under one rule. http, apply and cli are nil
// when no such entry point reaches the operation.
type crossCase struct {
	rule  string
	name  string
	world func(t *testing.T, h *harness) world
	http  func(w world) (method, path string, body any)
	apply func(w world) string
	cli   func(w world) []string
	want  outcome
}

const ownP1 = "/tenants/own/projects/p1"

func deployment(tn, env, app string) string {
	return "/tenants/" + tn + "/projects/p1/environments/" + env + "/deployments/" + app
}

func grayPlanDoc(tn, env, app, v string) string {
	return fmt.Sprintf(`apiVersion: berth.dev/v1
kind: GrayPlan
metadata: {name: %s, tenant: %s, project: p1}
spec:
  environment: %s
  grayVersion: %s
  steps:
    - tellers: [T900]
`, app, tn, env, v)
}

func applicationDoc(tn, app, v string) string {
	return fmt.Sprintf(`apiVersion: berth.dev/v1
kind: Application
metadata: {name: %s, tenant: %s, project: p1}
spec:
  version: {name: %s, image: registry.local/app1:1, tier: small, orchestration: {replicas: 1, ports: [{name: http, containerPort: 8080}]}}
`, app, tn, v)
}

func grayStart(app, v string) map[string]any {
	return map[string]any{"application": app, "grayVersion": v, "steps": []map[string]any{{"tellers": []string{"T900"}}}}
}

// lockedWorld: release order "held" (app1 v1) runs in own's dev and holds
// app1; order "next" (app1 v2) is approved and waits.
func lockedWorld(t *testing.T, h *harness) world {
	admin := h.token("admin", adminPassword)
	orders := seedMatrix(t, h, admin)
	h.must(http.StatusOK, admin, "POST", ownP1+"/releases/"+orders[own]+"/start", nil)
	return world{admin: admin, caller: admin, orders: map[string]string{"held": orders[own], "next": orders[own+"/gray"]}}
}

// planWorld: app1 runs v1 in own's dev with a running gray plan of v2;
// version v3 exists; order "held" (app1 v1) is approved and waits.
func planWorld(t *testing.T, h *harness) world {
	admin := h.token("admin", adminPassword)
	orders := seedMatrix(t, h, admin)
	h.must(http.StatusCreated, admin, "POST", ownP1+"/applications/app1/versions", version("v3"))
	h.must(http.StatusCreated, admin, "POST", ownP1+"/environments/dev/grayplans", grayStart("app1", "v2"))
	return world{admin: admin, caller: admin, orders: map[string]string{"held": orders[own]}}
}

// fourEyesWorld: in own/p1, prod asks one approval (written after app1
// v1 and app2 v1 were deployed there and app2's gray plan of v2 started)
// and uat none of its own but the tenant's floor of uat asks one (app1 v1
// runs there). app3 has a version and runs nowhere. Order "approved"
// (app1 v2 in prod) was approved by a second release manager.
func fourEyesWorld(t *testing.T, h *harness) world {
	admin := h.token("admin", adminPassword)
	seedMatrix(t, h, admin)
	for _, app := range []string{"app2", "app3"} {
		h.must(http.StatusCreated, admin, "POST", ownP1+"/applications", map[string]string{"name": app})
		h.must(http.StatusCreated, admin, "POST", ownP1+"/applications/"+app+"/versions", version("v1"))
	}
	h.must(http.StatusCreated, admin, "POST", ownP1+"/applications/app2/versions", version("v2"))
	for _, env := range []string{"prod", "uat"} {
		h.must(http.StatusCreated, admin, "POST", ownP1+"/environments", map[string]string{"name": env, "cluster": "c1", "namespace": "own-" + env})
		h.must(http.StatusOK, admin, "PUT", deployment(own, env, "app1"), apitypes.DeployRequest{Version: "v1"})
	}
	h.must(http.StatusOK, admin, "PUT", deployment(own, "prod", "app2"), apitypes.DeployRequest{Version: "v1"})
	h.must(http.StatusCreated, admin, "POST", ownP1+"/environments/prod/grayplans", grayStart("app2", "v2"))
	var e tenancy.Environment
	h.must(http.StatusOK, admin, "GET", ownP1+"/environments/prod", nil).decode(t, &e)
	e.RequiredApprovals = 1
	h.must(http.StatusOK, admin, "PUT", ownP1+"/environments/prod", e)
	h.must(http.StatusOK, admin, "PUT", "/tenants/own/approval-floor", map[string]any{"environments": map[string]int{"uat": 1}})
	for _, u := range []string{"rm1", "rm2"} {
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": u, "password": "password-of-" + u})
		h.must(http.StatusCreated, admin, "POST", ownP1+"/members", map[string]string{"user": u, "role": "release-manager"})
	}
	var o apitypes.OrderView
	h.must(http.StatusCreated, h.token("rm1", "password-of-rm1"), "POST", ownP1+"/releases", map[string]any{"environment": "prod", "title": "app1 v2",
		"items": []map[string]string{{"application": "app1", "version": "v2"}}}).decode(t, &o)
	h.must(http.StatusOK, h.token("rm2", "password-of-rm2"), "POST", ownP1+"/releases/"+o.ID+"/approve", nil)
	return world{admin: admin, caller: admin, orders: map[string]string{"approved": o.ID}}
}

// isolationWorld: the caller is tenant own's admin; tenant other has the
// same objects, order "other" (app1 v1 in dev) approved and waiting.
func isolationWorld(t *testing.T, h *harness) world {
	admin := h.token("admin", adminPassword)
	orders := seedMatrix(t, h, admin)
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "ta", "password": "password-of-ta"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/own/members", map[string]string{"user": "ta", "role": "tenant-admin"})
	return world{admin: admin, caller: h.token("ta", "password-of-ta"), orders: map[string]string{"other": orders[other]}}
}

// quotaWorld: tenant own may use 150m of CPU; app1 v1 (one replica of
// 100m) runs in dev; v3 runs two replicas.
func quotaWorld(t *testing.T, h *harness) world {
	admin := h.token("admin", adminPassword)
	seedMatrix(t, h, admin)
	v3 := version("v3")
	v3["orchestration"].(map[string]any)["replicas"] = 2
	h.must(http.StatusCreated, admin, "POST", ownP1+"/applications/app1/versions", v3)
	h.must(http.StatusOK, admin, "PUT", "/tenants/own/quota", map[string]any{"hard": map[string]string{"cpu": "150m"}})
	return world{admin: admin, caller: admin}
}

func on(method, path string, body any) func(world) (string, string, any) {
	return func(world) (string, string, any) { return method, path, body }
}

func manifestOf(s string) func(world) string { return func(world) string { return s } }

func verb(args ...string) func(world) []string {
	return func(world) []string { return args }
}

func crossCases() []crossCase {
	dev := deployment(own, "dev", "app1")
	prod := deployment(own, "prod", "app1")
	inDev := []string{"-e", "dev", "-t", own, "-p", proj}
	inProd := []string{"-e", "prod", "-t", own, "-p", proj}
	inOwn := []string{"-t", own, "-p", proj}
	cs := []crossCase{
		// A running release order holds its applications.
		{rule: "release-order lock", name: "deploy another version", world: lockedWorld,
			http: on("PUT", dev, apitypes.DeployRequest{Version: "v2"}),
			cli:  verb(append([]string{"app", "deploy", "app1", "v2"}, inDev...)...),
			want: refused("being released by order")},
		{rule: "release-order lock", name: "stop", world: lockedWorld,
			http: on("POST", dev+"/stop", nil),
			cli:  verb(append([]string{"app", "stop", "app1"}, inDev...)...),
			want: refused("being released by order")},
		{rule: "release-order lock", name: "undeploy", world: lockedWorld,
			http: on("DELETE", dev, nil),
			cli:  verb(append([]string{"app", "undeploy", "app1"}, inDev...)...),
			want: refused("being released by order")},
		{rule: "release-order lock", name: "scale stays direct (the order's rollback restores the count)", world: lockedWorld,
			http: on("POST", dev+"/scale", apitypes.ScaleRequest{Replicas: 2}),
			cli:  verb(append([]string{"app", "scale", "app1", "2"}, inDev...)...),
			want: accepted},
		{rule: "release-order lock", name: "start a gray plan", world: lockedWorld,
			http:  on("POST", ownP1+"/environments/dev/grayplans", grayStart("app1", "v2")),
			apply: manifestOf(grayPlanDoc(own, "dev", "app1", "v2")),
			cli:   verb(append([]string{"gray", "start", "app1", "v2", "--step", "tellers=T900"}, inDev...)...),
			want:  refused("being released by order")},
		{rule: "release-order lock", name: "start a second order of the application", world: lockedWorld,
			http: func(w world) (string, string, any) {
				return "POST", ownP1 + "/releases/" + w.orders["next"] + "/start", nil
			},
			cli:  func(w world) []string { return append([]string{"release", "start", w.orders["next"]}, inOwn...) },
			want: refused("is being released")},
		{rule: "release-order lock", name: "set the project's current version (runs nothing)", world: lockedWorld,
			http:  on("PUT", ownP1+"/applications/app1/current-version", apitypes.CurrentVersion{Version: "v2"}),
			apply: manifestOf(applicationDoc(own, "app1", "v2")),
			want:  accepted},

		// An active gray plan owns its application's versions.
		{rule: "active gray plan", name: "start a release order of the application", world: planWorld,
			http: func(w world) (string, string, any) {
				return "POST", ownP1 + "/releases/" + w.orders["held"] + "/start", nil
			},
			cli:  func(w world) []string { return append([]string{"release", "start", w.orders["held"]}, inOwn...) },
			want: refused("has a running gray plan")},
		{rule: "active gray plan", name: "start a plan of another version", world: planWorld,
			http:  on("POST", ownP1+"/environments/dev/grayplans", grayStart("app1", "v3")),
			apply: manifestOf(grayPlanDoc(own, "dev", "app1", "v3")),
			cli:   verb(append([]string{"gray", "start", "app1", "v3", "--step", "tellers=T900"}, inDev...)...),
			want:  refused("is Running")},
		{rule: "active gray plan", name: "a direct deploy overrides the plan (docs/gray-release.md)", world: planWorld,
			http: on("PUT", dev, apitypes.DeployRequest{Version: "v3"}),
			cli:  verb(append([]string{"app", "deploy", "app1", "v3"}, inDev...)...),
			want: accepted},

		// Four eyes: where approvals are required, what version runs
		// changes only through an approved release order.
		{rule: "four eyes", name: "deploy another version", world: fourEyesWorld,
			http: on("PUT", prod, apitypes.DeployRequest{Version: "v2"}),
			cli:  verb(append([]string{"app", "deploy", "app1", "v2"}, inProd...)...),
			want: refused("through an approved release order")},
		{rule: "four eyes", name: "deploy another version where only the tenant's floor asks approvals", world: fourEyesWorld,
			http: on("PUT", deployment(own, "uat", "app1"), apitypes.DeployRequest{Version: "v2"}),
			cli:  verb("app", "deploy", "app1", "v2", "-e", "uat", "-t", own, "-p", proj),
			want: refused("through an approved release order")},
		{rule: "four eyes", name: "first deploy of an application", world: fourEyesWorld,
			http: on("PUT", deployment(own, "prod", "app3"), apitypes.DeployRequest{Version: "v1"}),
			cli:  verb(append([]string{"app", "deploy", "app3", "v1"}, inProd...)...),
			want: refused("through an approved release order")},
		{rule: "four eyes", name: "redeploy the version that runs", world: fourEyesWorld,
			http: on("PUT", prod, apitypes.DeployRequest{Version: "v1"}),
			cli:  verb(append([]string{"app", "deploy", "app1", "v1"}, inProd...)...),
			want: accepted},
		{rule: "four eyes", name: "scale", world: fourEyesWorld,
			http: on("POST", prod+"/scale", apitypes.ScaleRequest{Replicas: 2}),
			cli:  verb(append([]string{"app", "scale", "app1", "2"}, inProd...)...),
			want: accepted},
		{rule: "four eyes", name: "restart", world: fourEyesWorld,
			http: on("POST", prod+"/restart", nil),
			cli:  verb(append([]string{"app", "restart", "app1"}, inProd...)...),
			want: accepted},
		{rule: "four eyes", name: "stop", world: fourEyesWorld,
			http: on("POST", prod+"/stop", nil),
			cli:  verb(append([]string{"app", "stop", "app1"}, inProd...)...),
			want: accepted},
		{rule: "four eyes", name: "start a gray plan", world: fourEyesWorld,
			http:  on("POST", ownP1+"/environments/prod/grayplans", grayStart("app1", "v2")),
			apply: manifestOf(grayPlanDoc(own, "prod", "app1", "v2")),
			cli:   verb(append([]string{"gray", "start", "app1", "v2", "--step", "tellers=T900"}, inProd...)...),
			want:  refused("through an approved release order")},
		{rule: "four eyes", name: "promote a plan started before approvals were required", world: fourEyesWorld,
			http: on("POST", ownP1+"/environments/prod/grayplans/app2/promote", apitypes.GrayPromoteRequest{}),
			cli:  verb(append([]string{"gray", "promote", "app2"}, inProd...)...),
			want: refused("through an approved release order")},
		{rule: "four eyes", name: "abort that plan (back to the version that ran)", world: fourEyesWorld,
			http: on("POST", ownP1+"/environments/prod/grayplans/app2/abort", apitypes.GrayAbortRequest{}),
			cli:  verb(append([]string{"gray", "abort", "app2"}, inProd...)...),
			want: accepted},
		{rule: "four eyes", name: "start the approved order", world: fourEyesWorld,
			http: func(w world) (string, string, any) {
				return "POST", ownP1 + "/releases/" + w.orders["approved"] + "/start", nil
			},
			cli:  func(w world) []string { return append([]string{"release", "start", w.orders["approved"]}, inOwn...) },
			want: accepted},
		{rule: "four eyes", name: "release the approved order by gray plans", world: fourEyesWorld,
			http: func(w world) (string, string, any) {
				return "POST", ownP1 + "/releases/" + w.orders["approved"] + "/gray", map[string]any{"steps": []map[string]any{{"tellers": []string{"T900"}}}}
			},
			cli: func(w world) []string {
				return append([]string{"gray", "start", "--order", w.orders["approved"], "--step", "tellers=T900"}, inOwn...)
			},
			want: accepted},
		{rule: "four eyes", name: "set the project's current version (runs nothing)", world: fourEyesWorld,
			http:  on("PUT", ownP1+"/applications/app1/current-version", apitypes.CurrentVersion{Version: "v2"}),
			apply: manifestOf(applicationDoc(own, "app1", "v2")),
			want:  accepted},

		// A tenant's caller reaches nothing of another tenant's.
		{rule: "tenant isolation", name: "deploy in the caller's own tenant", world: isolationWorld,
			http: on("PUT", dev, apitypes.DeployRequest{Version: "v2"}),
			cli:  verb(append([]string{"app", "deploy", "app1", "v2"}, inDev...)...),
			want: accepted},
		{rule: "tenant isolation", name: "deploy in another tenant", world: isolationWorld,
			http: on("PUT", deployment(other, "dev", "app1"), apitypes.DeployRequest{Version: "v2"}),
			cli:  verb("app", "deploy", "app1", "v2", "-e", "dev", "-t", other, "-p", proj),
			want: forbidden},
		{rule: "tenant isolation", name: "start a gray plan in another tenant", world: isolationWorld,
			http:  on("POST", "/tenants/other/projects/p1/environments/dev/grayplans", grayStart("app1", "v2")),
			apply: manifestOf(grayPlanDoc(other, "dev", "app1", "v2")),
			cli:   verb("gray", "start", "app1", "v2", "--step", "tellers=T900", "-e", "dev", "-t", other, "-p", proj),
			want:  forbidden},
		{rule: "tenant isolation", name: "start another tenant's order", world: isolationWorld,
			http: func(w world) (string, string, any) {
				return "POST", "/tenants/other/projects/p1/releases/" + w.orders["other"] + "/start", nil
			},
			cli: func(w world) []string {
				return []string{"release", "start", w.orders["other"], "-t", other, "-p", proj}
			},
			want: forbidden},
		{rule: "tenant isolation", name: "set another tenant's current version", world: isolationWorld,
			http:  on("PUT", "/tenants/other/projects/p1/applications/app1/current-version", apitypes.CurrentVersion{Version: "v2"}),
			apply: manifestOf(applicationDoc(other, "app1", "v2")),
			want:  forbidden},

		// Quota is reserved the same way whichever way in.
		{rule: "quota", name: "start a gray plan beyond the quota", world: quotaWorld,
			http:  on("POST", ownP1+"/environments/dev/grayplans", grayStart("app1", "v2")),
			apply: manifestOf(grayPlanDoc(own, "dev", "app1", "v2")),
			cli:   verb(append([]string{"gray", "start", "app1", "v2", "--step", "tellers=T900"}, inDev...)...),
			want:  quotaExceeded},
		{rule: "quota", name: "scale beyond the quota", world: quotaWorld,
			http: on("POST", dev+"/scale", apitypes.ScaleRequest{Replicas: 2}),
			cli:  verb(append([]string{"app", "scale", "app1", "2"}, inDev...)...),
			want: quotaExceeded},
		{rule: "quota", name: "deploy a version beyond the quota", world: quotaWorld,
			http: on("PUT", dev, apitypes.DeployRequest{Version: "v3"}),
			cli:  verb(append([]string{"app", "deploy", "app1", "v3"}, inDev...)...),
			want: quotaExceeded},
		{rule: "quota", name: "set a current version beyond the quota", world: quotaWorld,
			http:  on("PUT", ownP1+"/applications/app1/current-version", apitypes.CurrentVersion{Version: "v3"}),
			apply: manifestOf(applicationDoc(own, "app1", "v3")),
			want:  quotaExceeded},
	}
	return cs
}

func TestCrossFeatureRulesHoldThroughEveryEntryPoint(t *testing.T) {
	t.Parallel()
	for _, c := range crossCases() {
		entries := map[string]func(*testing.T, *harness, world) outcome{}
		if c.http != nil {
			entries["HTTP"] = func(t *testing.T, h *harness, w world) outcome {
				m, p, b := c.http(w)
				return httpOutcome(t, h.call(w.caller, m, p, b))
			}
		}
		if c.apply != nil {
			entries["apply"] = func(t *testing.T, h *harness, w world) outcome {
				return httpOutcome(t, h.call(w.caller, "POST", "/apply", c.apply(w)))
			}
			entries["CLI apply"] = func(t *testing.T, h *harness, w world) outcome {
				return runCLI(t, h, w.caller, c.apply(w), "apply", "-f", "-")
			}
		}
		if c.cli != nil {
			entries["CLI"] = func(t *testing.T, h *harness, w world) outcome {
				return runCLI(t, h, w.caller, "", c.cli(w)...)
			}
		}
		for name, attempt := range entries {
			t.Run(c.rule+"/"+c.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, storetest.SQLite(t))
				w := c.world(t, h)
				got := attempt(t, h, w)
				if !matches(got, c.want) {
					t.Fatalf("got %d %s %q, want %s", got.status, got.code, got.message, describe(c.want))
				}
				if c.want != accepted {
					newestIsARefusal(t, h, w.admin)
				}
			})
		}
	}
}

func matches(got, want outcome) bool {
	if want == accepted {
		return got.status == 0
	}
	return got.status == want.status && got.code == want.code && strings.Contains(got.message, want.message)
}

func describe(o outcome) string {
	if o == accepted {
		return "accepted"
	}
	return fmt.Sprintf("%d %s ...%s...", o.status, o.code, o.message)
}

func httpOutcome(t *testing.T, r response) outcome {
	t.Helper()
	if r.status < 300 {
		return accepted
	}
	e := r.errorBody(t)
	return outcome{status: r.status, code: e.Code, message: e.Message}
}

// runCLI runs a berth command as the caller against the harness's server.
func runCLI(t *testing.T, h *harness, token, stdin string, args ...string) outcome {
	t.Helper()
	vars := map[string]string{"BERTH_SERVER": h.url, "BERTH_TOKEN": token, "BERTH_LANG": "en",
		"BERTH_CONFIG": filepath.Join(t.TempDir(), "config.yaml")}
	env := cli.Env{Stdin: strings.NewReader(stdin), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(k string) string { return vars[k] }}
	root := &cobra.Command{Use: "berth", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(appcmd.New(env), graycmd.New(env), releasecmd.New(env), applycmd.New(env))
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(t.Context())
	if err == nil {
		return accepted
	}
	var ae *client.Error
	if !errors.As(err, &ae) {
		t.Fatalf("berth %s: %v (not an answer of the API)", strings.Join(args, " "), err)
	}
	return outcome{status: ae.Status, code: ae.Code, message: ae.Message}
}

// newestIsARefusal checks that the attempt left a failure or denial as the
// newest audit record.
func newestIsARefusal(t *testing.T, h *harness, admin string) {
	t.Helper()
	var trail apitypes.List[map[string]any]
	h.must(http.StatusOK, admin, "GET", "/audit?limit=1", nil).decode(t, &trail)
	if len(trail.Items) == 0 || trail.Items[0]["outcome"] == "success" {
		t.Fatalf("newest audit record %v, want the refusal", trail.Items)
	}
}
