package api

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/store/storetest"
)

// loginRecords returns the audit records of logins, newest first.
func loginRecords(t *testing.T, h *harness, tok string) []audit.Record {
	t.Helper()
	var page apitypes.List[audit.Record]
	h.must(http.StatusOK, tok, "GET", "/audit?action=user.login&limit=500", nil).decode(t, &page)
	return page.Items
}

func TestHugeUserNamesAreRefusedBeforeAnythingIsWritten(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	huge := strings.Repeat("x", 900<<10)
	for range 15 {
		h.must(http.StatusRequestEntityTooLarge, "", "POST", "/login", apitypes.LoginRequest{Username: huge, Password: "whatever-password"})
	}
	r := h.must(http.StatusUnprocessableEntity, "", "POST", "/login", apitypes.LoginRequest{Username: strings.Repeat("y", 129), Password: "whatever-password"})
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "username" {
		t.Errorf("fields %+v, want one naming username", f)
	}
	r = h.must(http.StatusUnprocessableEntity, "", "POST", "/login", apitypes.LoginRequest{Username: "admin", Password: strings.Repeat("p", 1025)})
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "password" {
		t.Errorf("fields %+v, want one naming password", f)
	}
	admin := h.token("admin", adminPassword)
	if recs := loginRecords(t, h, admin); len(recs) != 1 || recs[0].Outcome != audit.Success {
		t.Errorf("login records %+v, want only the admin's successful login", recs)
	}
}

func TestAFloodOfRefusedLoginsIsTwoAuditRecords(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t)) // 3 per user, 10 per address per minute
	for i := range 15 {
		code := http.StatusUnauthorized
		if i >= 3 {
			code = http.StatusTooManyRequests
		}
		h.must(code, "", "POST", "/login", apitypes.LoginRequest{Username: "admin", Password: "wrong-password!"})
	}
	if err := h.api.Close(); err != nil { // the server stops: nothing counted is lost
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	admin := h.token("admin", adminPassword)
	recs := loginRecords(t, h, admin)
	if len(recs) != 3 {
		t.Fatalf("%d login records, want the success, one aggregate and the first refusal: %+v", len(recs), recs)
	}
	if s := recs[1].Summary; !strings.HasPrefix(s, "14 more refused logins from 127.0.0.1 for user(s) admin between ") {
		t.Errorf("aggregate %q", s)
	}
	if recs[2].Outcome != audit.Denied || recs[2].SourceIP != "127.0.0.1" {
		t.Errorf("first refusal %+v", recs[2])
	}
}

func TestAPasswordChangeRevokesTheUsersOtherTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "ann", "password": "first-password-ann"})
	laptop, phone := h.token("ann", "first-password-ann"), h.token("ann", "first-password-ann")

	r := h.must(http.StatusUnprocessableEntity, laptop, "PUT", "/users/ann/password", map[string]string{"password": "second-password-ann"})
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "currentPassword" {
		t.Errorf("without the current password: fields %+v", f)
	}
	h.must(http.StatusUnprocessableEntity, laptop, "PUT", "/users/ann/password",
		map[string]string{"password": "second-password-ann", "currentPassword": "not-the-password"})
	h.must(http.StatusNoContent, laptop, "PUT", "/users/ann/password",
		map[string]string{"password": "second-password-ann", "currentPassword": "first-password-ann"})
	h.must(http.StatusUnauthorized, phone, "GET", "/whoami", nil)
	h.must(http.StatusOK, laptop, "GET", "/whoami", nil) // the credential the change was made with

	h.must(http.StatusNoContent, admin, "PUT", "/users/ann/password", map[string]string{"password": "third-password-ann"})
	h.must(http.StatusUnauthorized, laptop, "GET", "/whoami", nil)
}

func TestATokenCannotMintALongerLivedToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	var lr apitypes.LoginResponse
	h.must(http.StatusOK, "", "POST", "/login", apitypes.LoginRequest{Username: "admin", Password: adminPassword,
		Token: &apitypes.TokenRequest{Name: "short", TTL: "2h"}}).decode(t, &lr)
	r := h.must(http.StatusUnprocessableEntity, lr.Token, "POST", "/tokens", apitypes.TokenRequest{Name: "long", TTL: "720h"})
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "ttl" {
		t.Errorf("fields %+v, want one naming ttl", f)
	}
	var created apitypes.TokenCreated
	h.must(http.StatusCreated, lr.Token, "POST", "/tokens", apitypes.TokenRequest{Name: "default"}).decode(t, &created)
	if created.ExpiresAt.After(lr.ExpiresAt) {
		t.Errorf("a token with the default lifetime expires %s, after its maker %s", created.ExpiresAt, lr.ExpiresAt)
	}
}

func TestAdminsListAndRevokeAnyUsersTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	for _, u := range []string{"ann", "bob"} {
		h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": u, "password": "password-of-" + u})
	}
	ann, bob := h.token("ann", "password-of-ann"), h.token("bob", "password-of-bob")
	h.must(http.StatusForbidden, bob, "GET", "/users/ann/tokens", nil)
	var page apitypes.List[identity.Token]
	h.must(http.StatusOK, admin, "GET", "/users/ann/tokens", nil).decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].User != "ann" {
		t.Fatalf("ann's tokens: %+v", page.Items)
	}
	id := page.Items[0].ID
	h.must(http.StatusForbidden, bob, "DELETE", "/users/ann/tokens/"+id, nil)
	h.must(http.StatusOK, ann, "GET", "/whoami", nil)
	h.must(http.StatusNoContent, admin, "DELETE", "/users/ann/tokens/"+id, nil)
	h.must(http.StatusUnauthorized, ann, "GET", "/whoami", nil)
	var recs apitypes.List[audit.Record]
	h.must(http.StatusOK, admin, "GET", "/audit?action=token.revoke", nil).decode(t, &recs)
	if len(recs.Items) != 1 || recs.Items[0].Actor != "admin" || recs.Items[0].Target != "users/ann/tokens/"+id {
		t.Errorf("revocation audit %+v", recs.Items)
	}
}

func TestAGatewayTokenReadsTheGatewayStreamAndNothingElse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "gateway"})
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "ops", "password": "password-of-ops"})
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "bank"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/members", map[string]string{"user": "ops", "role": "tenant-admin"})
	ops := h.token("ops", "password-of-ops")
	h.must(http.StatusForbidden, ops, "POST", "/tokens", apitypes.TokenRequest{Name: "gw", Role: "gateway"})
	h.must(http.StatusUnprocessableEntity, admin, "POST", "/members", map[string]string{"user": "gateway", "role": "gateway"})

	var gw apitypes.TokenCreated
	h.must(http.StatusCreated, admin, "POST", "/users/gateway/tokens", apitypes.TokenRequest{Name: "edge-1", Role: "gateway"}).decode(t, &gw)
	h.must(http.StatusOK, gw.Secret, "GET", "/gateway/config", nil)
	// A gateway reports each configuration it applies (docs/gateway.md).
	h.must(http.StatusNoContent, gw.Secret, "POST", "/gateway/config/applied",
		map[string]string{"subscriber": "edge-1", "id": strings.Repeat("a", 64)})

	param := regexp.MustCompile(`\{[a-z]+\}`)
	for _, rt := range h.api.Routes() {
		if rt.Public || rt.Path == "/gateway/config" || rt.Path == "/gateway/config/applied" {
			continue
		}
		path := param.ReplaceAllStringFunc(rt.Path, func(p string) string {
			return map[string]string{"{tenant}": "bank", "{user}": "gateway"}[p] + "x"
		})
		if strings.Contains(rt.Path, "{tenant}") {
			path = strings.Replace(path, "bankx", "bank", 1)
		}
		if strings.Contains(rt.Path, "{user}") {
			path = strings.Replace(path, "gatewayx", "gateway", 1)
		}
		var body any
		if rt.Method == "POST" || rt.Method == "PUT" {
			body = map[string]string{"name": "x"}
		}
		if r := h.call(gw.Secret, rt.Method, path, body); r.status != http.StatusForbidden {
			t.Errorf("%s %s with a gateway token: status %d, want 403: %s", rt.Method, path, r.status, r.body)
		}
	}
}

func TestPermissionsDescribeTheCallersRolesAtAScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	admin := h.token("admin", adminPassword)
	for _, tenant := range []string{"bank", "insurer"} {
		h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": tenant})
		h.must(http.StatusCreated, admin, "POST", "/tenants/"+tenant+"/projects", map[string]string{"name": "pay"})
	}
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "dev", "password": "developer-password"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/bank/projects/pay/members", map[string]string{"user": "dev", "role": "developer"})
	dev := h.token("dev", "developer-password")

	has := func(token, query string) map[string]bool {
		var got apitypes.Permissions
		h.must(http.StatusOK, token, "GET", "/whoami/permissions"+query, nil).decode(t, &got)
		out := map[string]bool{}
		for _, p := range got.Permissions {
			out[string(p)] = true
		}
		return out
	}
	// The policy table of docs/security.md: a developer of a project reads
	// and deploys there, but neither approves orders nor reads others' tenants.
	inPay := has(dev, "?tenant=bank&project=pay")
	for perm, want := range map[string]bool{"deployment:read": true, "deployment:deploy": true, "release:approve": false, "tenant:delete": false} {
		if inPay[perm] != want {
			t.Errorf("developer of bank/pay: %s = %v, want %v", perm, inPay[perm], want)
		}
	}
	// Platform-wide reads (the resource tiers) reach every scope; nothing else
	// of bank/pay may reach insurer/pay.
	everywhere := has(dev, "")
	for perm := range has(dev, "?tenant=insurer&project=pay") {
		if !everywhere[perm] {
			t.Errorf("developer of bank/pay holds %s in insurer/pay", perm)
		}
	}
	if everywhere["deployment:read"] {
		t.Error("developer of bank/pay reads deployments at platform scope")
	}
	if platform := has(admin, ""); !platform["cluster:create"] || !platform["tenant:create"] {
		t.Errorf("the platform admin at platform scope: %v, want cluster:create and tenant:create among them", platform)
	}
	r := h.must(http.StatusUnprocessableEntity, dev, "GET", "/whoami/permissions?project=pay", nil)
	if f := r.errorBody(t).Fields; len(f) != 1 || f[0].Path != "tenant" {
		t.Errorf("fields %+v, want one naming tenant", f)
	}
	h.must(http.StatusUnauthorized, "", "GET", "/whoami/permissions", nil)
}
