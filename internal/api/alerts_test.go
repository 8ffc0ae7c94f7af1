package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store/storetest"
)

// TestAlertHookTakesOnlyItsReceiversToken: Alertmanager's posts are
// authenticated by the receiver's own token (a wrong or missing one, or
// an unknown receiver, is 401 alike), refused when they carry another
// project's alerts, and otherwise queued for the receiver's robot.
func TestAlertHookTakesOnlyItsReceiversToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "bank"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects", map[string]string{"name": "pay"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects", map[string]string{"name": "web"})
	robot := "https://oapi.dingtalk.com/robot/send?access_token=secret"
	shown := h.must(http.StatusOK, admin, "PUT", "/tenants/bank/projects/pay/alert-receivers/ops", map[string]any{"kind": "dingtalk", "url": robot})
	if strings.Contains(string(shown.body), "secret") || strings.Contains(string(shown.body), `"token":"`) {
		t.Errorf("the receiver's answer shows its secrets: %s", shown.body)
	}
	h.must(http.StatusOK, admin, "PUT", "/tenants/bank/projects/web/alert-receivers/ops", map[string]any{"kind": "dingtalk", "url": robot})
	var token string
	if err := h.p.DB.View(t.Context(), func(tx platform.Tx) error {
		r, err := tx.GetAlertReceiver(t.Context(), "bank", "pay", "ops")
		token = r.Token
		return err
	}); err != nil {
		t.Fatal(err)
	}
	firing := func(project string) alert.Notification {
		return alert.Notification{Version: "4", Status: "firing", GroupLabels: map[string]string{"alertname": "errors"},
			Alerts: []alert.HookAlert{{Status: "firing", Labels: map[string]string{"alertname": "errors", "tenant": "bank", "project": project}}}}
	}
	const hook = "/alert-hooks/bank/pay/ops"
	for _, tc := range []struct {
		name, token, path string
		want              int
	}{
		{"no token", "", hook, http.StatusUnauthorized},
		{"another token", strings.Repeat("0", len(token)), hook, http.StatusUnauthorized},
		{"the token at another project's receiver of the same name", token, "/alert-hooks/bank/web/ops", http.StatusUnauthorized},
		{"an unknown receiver", token, "/alert-hooks/bank/pay/nobody", http.StatusUnauthorized},
	} {
		if r := h.call(tc.token, "POST", tc.path, firing("pay")); r.status != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.want, r.body)
		}
	}
	if r := h.call(token, "POST", hook, firing("web")); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "alerts[0].labels") {
		t.Errorf("another project's alerts: status %d: %s", r.status, r.body)
	}
	h.must(http.StatusNoContent, token, "POST", hook, firing("pay"))
	var pending []notify.Message
	if err := h.p.DB.View(t.Context(), func(tx platform.Tx) (err error) { pending, err = tx.PendingNotifications(t.Context(), 10); return err }); err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].URL != robot || pending[0].Format != "dingtalk" || !strings.HasPrefix(pending[0].Title, "[FIRING:1] errors") {
		t.Errorf("outbox %+v, want one message for the receiver's robot", pending)
	}
}

// TestAlertRulesAndReceiversApplyFromManifests: AlertRule and
// AlertReceiver documents create, re-apply as unchanged, update, and a bad
// threshold is refused naming the document and the field, nothing saved.
func TestAlertRulesAndReceiversApplyFromManifests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	base := `apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: bank}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: pay, tenant: bank}
---
apiVersion: berth.dev/v1
kind: Cluster
metadata: {name: local}
spec: {kubeconfig: KUBECONFIG}
---
apiVersion: berth.dev/v1
kind: Environment
metadata: {name: prod, tenant: bank, project: pay}
spec: {cluster: local, namespace: bank-pay-prod}
`
	h.must(http.StatusOK, admin, "POST", "/apply", strings.Replace(base, "KUBECONFIG", strconv.Quote(kubeconfigFor("https://127.0.0.1:1")), 1))
	doc := `apiVersion: berth.dev/v1
kind: AlertRule
metadata: {name: pods-down, tenant: bank, project: pay}
spec: {environment: prod, expr: "sum(up) < 1", for: 1m, severity: critical}
---
apiVersion: berth.dev/v1
kind: AlertReceiver
metadata: {name: ops, tenant: bank, project: pay}
spec: {kind: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}
`
	actions := func(body string) []string {
		var res apitypes.ApplyResult
		h.must(http.StatusOK, admin, "POST", "/apply", body).decode(t, &res)
		var out []string
		for _, o := range res.Objects {
			out = append(out, string(o.Kind)+" "+o.Name+" "+o.Action)
		}
		return out
	}
	if diff := cmp.Diff([]string{"AlertReceiver ops created", "AlertRule pods-down created"}, actions(doc)); diff != "" {
		t.Errorf("first apply (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"AlertReceiver ops unchanged", "AlertRule pods-down unchanged"}, actions(doc)); diff != "" {
		t.Errorf("second apply (-want +got):\n%s", diff)
	}
	changed := strings.Replace(doc, "severity: critical", "severity: warning", 1)
	if diff := cmp.Diff([]string{"AlertReceiver ops unchanged", "AlertRule pods-down updated"}, actions(changed)); diff != "" {
		t.Errorf("apply with a new severity (-want +got):\n%s", diff)
	}
	bad := `apiVersion: berth.dev/v1
kind: AlertRule
metadata: {name: slow, tenant: bank, project: pay}
spec: {environment: prod, application: none, template: latency-p99, threshold: "300"}
`
	r := h.must(http.StatusUnprocessableEntity, admin, "POST", "/apply", bad)
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "document 1 (AlertRule slow): spec.threshold" {
		t.Errorf("bad threshold: fields %+v, want document 1's spec.threshold", f)
	}
	var rules []alert.Rule
	h.must(http.StatusOK, admin, "GET", "/tenants/bank/projects/pay/alert-rules", nil).decode(t, &rules)
	if len(rules) != 1 || rules[0].Name != "pods-down" || rules[0].Severity != "warning" || rules[0].ResourceVersion != 2 {
		t.Errorf("rules after the applies: %+v", rules)
	}
}
