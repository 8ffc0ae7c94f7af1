package api

import (
	"net/url"
	"testing"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/tenancy"
)

// TestNacosCredentialsFollowIdentityChangesAtOnce: the Nacos protocols
// remember who a credential is (nacos_auth.go), yet a binding removed or a
// session ended takes effect for the very next request, while publishing
// configuration (the storm that follows a push) keeps what they remember.
func TestNacosCredentialsFollowIdentityChangesAtOnce(t *testing.T) {
	t.Parallel()
	h := newNacosHarness(t)
	dora, vera := h.accessToken(t, "dora"), h.accessToken(t, "vera")
	item := func(tok string) url.Values {
		return url.Values{"dataId": {"app.properties"}, "group": {"G"}, "tenant": {nacosNS}, "accessToken": {tok}}
	}
	publish := item(dora)
	publish.Set("content", "pool=1")
	if status, _, body := h.nacosCall(t, "POST", "/v1/cs/configs", publish); status != 200 {
		t.Fatalf("dora publishes: %d %s", status, body)
	}
	for _, tok := range []string{dora, vera} {
		if status, _, body := h.nacosCall(t, "GET", "/v1/cs/configs", item(tok)); status != 200 || body != "pool=1" {
			t.Fatalf("read: %d %q", status, body)
		}
	}
	gen := h.api.callers.generation()
	publish.Set("content", "pool=2")
	if status, _, body := h.nacosCall(t, "POST", "/v1/cs/configs", publish); status != 200 {
		t.Fatalf("dora publishes again: %d %s", status, body)
	}
	if h.api.callers.generation() != gen {
		t.Error("publishing configuration forgot who the Nacos credentials are")
	}

	ctx := t.Context()
	err := h.p.DB.InTx(ctx, func(tx platform.Tx) error {
		return h.p.Tenancy.RemoveMember(ctx, tx, audit.System, tenancy.Scope{Tenant: "acme", Project: "payments"}, "dora", tenancy.Developer, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := h.nacosCall(t, "GET", "/v1/cs/configs", item(dora)); status != 403 {
		t.Errorf("dora reads after her binding was removed: %d %q, want 403", status, body)
	}
	err = h.p.DB.InTx(ctx, func(tx platform.Tx) error { return h.p.Identity.Logout(ctx, tx, audit.System, vera) })
	if err != nil {
		t.Fatal(err)
	}
	if status, _, body := h.nacosCall(t, "GET", "/v1/cs/configs", item(vera)); status != 401 && status != 403 {
		t.Errorf("vera reads after her session ended: %d %q, want 401 or 403", status, body)
	}
}

// TestNacosCallersExpireWithTheirCredential: what is remembered of a
// credential ends with the credential, and after callerMaxAge at most.
func TestNacosCallersExpireWithTheirCredential(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	bus := change.NewBus()
	c := newCallers(bus, func() time.Time { return now })
	who := platform.Caller{Actor: audit.Actor{User: "dora"}}
	c.put("s1", c.generation(), who, now.Add(10*time.Second))
	c.put("s2", c.generation(), who, now.Add(time.Hour))
	now = now.Add(11 * time.Second)
	if _, ok := c.get("s1"); ok {
		t.Error("a credential expired 1 s ago is still remembered")
	}
	if got, ok := c.get("s2"); !ok || got.Actor.User != "dora" {
		t.Errorf("a valid credential is not remembered: %v %v", got, ok)
	}
	now = now.Add(callerMaxAge)
	if _, ok := c.get("s2"); ok {
		t.Errorf("a credential is remembered longer than %v", callerMaxAge)
	}
	gen := c.generation()
	bus.Publish(change.Changed{Kind: change.Audit, Key: change.Key{Name: "token.revoke"}})
	c.put("s3", gen, who, now.Add(time.Hour))
	if _, ok := c.get("s3"); ok {
		t.Error("an answer read before a token was revoked is remembered")
	}
}
