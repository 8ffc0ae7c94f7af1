package storetest

import (
	"errors"
	"strings"
	"testing"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// testAlertRecords: a project's alert rules and receivers are created,
// replaced at their versions, listed, audited and deleted; a receiver
// keeps its token across updates and reads never show it nor the robot's
// key; a notification addressed to a receiver keeps its address in the
// outbox.
func testAlertRecords(t *testing.T, h *harness) {
	ctx := t.Context()
	h.deployFixture(t)
	payments := authz.Scope{Tenant: "acme", Project: "payments"}
	ops := platform.Caller{Actor: audit.Actor{User: "olga"}, Bindings: []authz.Binding{{Role: authz.Operator, Scope: payments}}}
	lead := platform.Caller{Actor: audit.Actor{User: "paul"}, Bindings: []authz.Binding{{Role: authz.ProjectAdmin, Scope: payments}}}
	viewer := platform.Caller{Actor: audit.Actor{User: "vera"}, Bindings: []authz.Binding{{Role: authz.Viewer, Scope: payments}}}
	tenantAdmin := platform.Caller{Actor: audit.Actor{User: "tina"}, Bindings: []authz.Binding{{Role: authz.TenantAdmin, Scope: authz.Scope{Tenant: "acme"}}}}
	root := platform.Caller{Actor: h.admin, Bindings: []authz.Binding{{Role: authz.PlatformAdmin, Scope: authz.Platform}}}

	r := alert.Rule{Tenant: "acme", Project: "payments", Name: "red-errors", Environment: "prod", Application: "red-auth",
		Template: alert.ErrorRate, Threshold: "5%"}
	got, created, err := h.p.PutAlertRule(ctx, ops, r)
	if err != nil || !created || got.ResourceVersion != 1 || !got.CreatedAt.Equal(T0) {
		t.Fatalf("create rule: %+v created %v: %v", got, created, err)
	}
	r.Threshold, r.ResourceVersion = "10%", 1
	if got, created, err = h.p.PutAlertRule(ctx, ops, r); err != nil || created || got.ResourceVersion != 2 {
		t.Fatalf("replace rule: %+v created %v: %v", got, created, err)
	}
	if _, _, err := h.p.PutAlertRule(ctx, ops, r); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("replace at a stale version = %v, want ErrConflict", err)
	}
	bad := r
	bad.Name, bad.Environment, bad.ResourceVersion = "other", "nowhere", 0
	var ve *resource.ValidationError
	if _, _, err := h.p.PutAlertRule(ctx, ops, bad); !errors.As(err, &ve) || ve.Fields[0].Path != "environment" {
		t.Errorf("rule in an unknown environment = %v, want a field error of environment", err)
	}
	bad.Environment, bad.Application = "prod", "nobody"
	if _, _, err := h.p.PutAlertRule(ctx, ops, bad); !errors.As(err, &ve) || ve.Fields[0].Path != "application" {
		t.Errorf("rule of an unknown application = %v, want a field error of application", err)
	}
	custom := alert.Rule{Tenant: "acme", Project: "payments", Name: "custom", Environment: "prod", Expr: "vector(1)"}
	for _, c := range []platform.Caller{viewer, ops, tenantAdmin} {
		if _, _, err := h.p.PutAlertRule(ctx, c, custom); !errors.Is(err, resource.ErrForbidden) {
			t.Errorf("custom rule by %s = %v, want ErrForbidden (alert:write-custom is the platform's)", c.User, err)
		}
	}
	if _, _, err := h.p.PutAlertRule(ctx, root, custom); err != nil {
		t.Errorf("custom rule by a platform admin: %v", err)
	}

	rc := alert.Receiver{Tenant: "acme", Project: "payments", Name: "ops-group", Kind: alert.WeCom,
		URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key", Token: "chosen-by-caller"}
	if _, _, err := h.p.PutAlertReceiver(ctx, ops, rc); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("receiver by an operator = %v, want ErrForbidden", err)
	}
	shown, _, err := h.p.PutAlertReceiver(ctx, lead, rc)
	if err != nil || shown.Token != "" || shown.URL != "https://qyapi.weixin.qq.com/…" {
		t.Fatalf("create receiver answered %+v: %v", shown, err)
	}
	var first alert.Receiver
	h.view(t, func(tx platform.Tx) (err error) {
		first, err = tx.GetAlertReceiver(ctx, "acme", "payments", "ops-group")
		return err
	})
	if len(first.Token) < 32 || first.Token == rc.Token || first.URL != rc.URL {
		t.Fatalf("stored receiver token %q url %q: want a fresh token of its own and the full URL", first.Token, first.URL)
	}
	rc.Kind = alert.DingTalk
	if _, created, err := h.p.PutAlertReceiver(ctx, lead, rc); err != nil || created {
		t.Fatalf("replace receiver: created %v: %v", created, err)
	}
	var second alert.Receiver
	h.view(t, func(tx platform.Tx) (err error) {
		second, err = tx.GetAlertReceiver(ctx, "acme", "payments", "ops-group")
		return err
	})
	if second.Token != first.Token || second.Kind != alert.DingTalk || second.ResourceVersion != 2 {
		t.Errorf("replaced receiver %+v: want the first token kept, kind dingtalk, version 2", second)
	}
	list, err := h.p.AlertReceivers(ctx, viewer, "acme", "payments")
	if err != nil || len(list) != 1 || list[0].Token != "" || list[0].URL != "https://qyapi.weixin.qq.com/…" {
		t.Errorf("receivers as a viewer: %+v: %v", list, err)
	}
	rules, err := h.p.AlertRules(ctx, viewer, "acme", "payments")
	if err != nil || len(rules) != 2 || rules[0].Name != "custom" || rules[1].Threshold != "10%" {
		t.Errorf("rules as a viewer: %+v: %v", rules, err)
	}
	if _, err := h.p.AlertRules(ctx, platform.Caller{Actor: audit.Actor{User: "x"}}, "acme", "payments"); !errors.Is(err, resource.ErrForbidden) {
		t.Errorf("rules read by nobody = %v, want ErrForbidden", err)
	}
	if err := h.p.DeleteAlertRule(ctx, ops, "acme", "payments", "red-errors"); err != nil {
		t.Fatal(err)
	}
	if err := h.p.DeleteAlertRule(ctx, ops, "acme", "payments", "red-errors"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("delete a deleted rule = %v, want ErrNotFound", err)
	}
	h.view(t, func(tx platform.Tx) error {
		all, err := tx.AllAlertRules(ctx)
		if err != nil || len(all) != 1 || all[0].Name != "custom" {
			t.Errorf("every project's rules: %+v: %v", all, err)
		}
		page, err := h.p.Audit.List(ctx, tx, audit.Filter{Tenant: "acme", Project: "payments"}, resource.ListOptions{Limit: 100})
		if err != nil {
			return err
		}
		var actions []string
		for _, rec := range page.Items {
			if rec.Outcome == audit.Success && strings.HasPrefix(rec.Action, "alert-") {
				actions = append([]string{rec.Action}, actions...)
			}
		}
		want := []string{"alert-rule.create", "alert-rule.update", "alert-rule.create", "alert-receiver.create", "alert-receiver.update", "alert-rule.delete"}
		diff(t, "alert audit actions, oldest first", actions, want)
		return nil
	})

	// A notification addressed to the receiver keeps its address.
	h.tx(t, func(tx platform.Tx) error {
		return tx.EnqueueNotification(ctx, notify.Message{Tenant: "acme", Project: "payments", Event: "alert.firing", Title: "t",
			Format: "dingtalk", URL: second.URL, At: T0})
	})
	h.view(t, func(tx platform.Tx) error {
		ms, err := tx.PendingNotifications(ctx, 10)
		if err != nil || len(ms) != 1 || ms[0].URL != second.URL || ms[0].Format != "dingtalk" {
			t.Errorf("pending notifications %+v: %v", ms, err)
		}
		return nil
	})
}
