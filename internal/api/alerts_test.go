package api

import (
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/internal/alert"
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
