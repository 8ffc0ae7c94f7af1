//go:build !race

package api

// The tests that drive Berth with the Nacos Go SDK in this process. The
// SDK keeps its clients in a package-level map it reads from its own
// goroutines and writes on close with no lock, so a -race build reports
// the SDK's race, none of Berth's: these tests run in make test's second,
// race-free pass (Makefile), and Berth's side of the protocol is
// race-checked by the wire-format tests (nacos_http_test.go) and by the
// reconnect test, whose SDK runs in a helper process.

import (
	"testing"
	"time"

	"github.com/nacos-group/nacos-sdk-go/v2/clients"
	"github.com/nacos-group/nacos-sdk-go/v2/clients/config_client"
	"github.com/nacos-group/nacos-sdk-go/v2/common/constant"
	"github.com/nacos-group/nacos-sdk-go/v2/vo"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/platform"
)

// sdkClient is the real Nacos Go SDK's config client logged in as user.
func (h *nacosHarness) sdkClient(t *testing.T, user, namespace string) config_client.IConfigClient {
	t.Helper()
	cc := constant.NewClientConfig(constant.WithNamespaceId(namespace), constant.WithTimeoutMs(5000),
		constant.WithNotLoadCacheAtStart(true), constant.WithDisableUseSnapShot(true), constant.WithLogDir(t.TempDir()), constant.WithCacheDir(t.TempDir()),
		constant.WithUsername(user), constant.WithPassword(nacosPassword), constant.WithLogLevel("error"))
	sc := constant.NewServerConfig("127.0.0.1", uint64(h.httpPort), constant.WithContextPath("/nacos"), constant.WithGrpcPort(uint64(h.grpcPort)))
	c, err := clients.NewConfigClient(vo.NacosClientParam{ClientConfig: cc, ServerConfigs: []constant.ServerConfig{*sc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseClient)
	return c
}

// TestNacosSDKGetPublishListenRemove drives Berth with the real Nacos Go
// SDK over gRPC: publish, get, a listener that hears a change published
// on Berth's side (not by the SDK), search, remove.
//
// The SDK tests do not run in parallel: the SDK keeps its clients in a
// package-level map it guards with no lock.
func TestNacosSDKGetPublishListenRemove(t *testing.T) {
	h := newNacosHarness(t)
	c := h.sdkClient(t, "dora", nacosNS)
	ok, err := c.PublishConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP", Content: "server:\n  port: 8080\n", Type: "yaml"})
	if err != nil || !ok {
		t.Fatalf("publish = %v, %v", ok, err)
	}
	got, err := c.GetConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP"})
	if err != nil || got != "server:\n  port: 8080\n" {
		t.Fatalf("get = %q, %v", got, err)
	}
	changes := make(chan string, 10)
	err = c.ListenConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP", OnChange: func(ns, group, dataID, data string) {
		changes <- ns + "|" + group + "|" + dataID + "|" + data
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Once the connection listens, Berth's side publishes: the change
	// must reach the SDK's listener.
	k := configcenter.Key{Tenant: "acme", Project: "payments", Environment: "test", Group: "DEFAULT_GROUP", DataID: "red-auth.yaml"}
	waitFor(t, "the connection to listen", func() bool { return h.watch.Watchers(k) == 1 })
	dora := platform.Caller{Actor: audit.Actor{User: "dora"}, Bindings: []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "acme", Project: "payments"}}}}
	err = h.p.Do(t.Context(), dora.Actor, audit.Event{Action: "config.publish"}, func(tx platform.Tx) error {
		_, err := h.p.PublishConfig(t.Context(), tx, dora, configcenter.Change{Key: k, Content: "server:\n  port: 9090\n"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := nacosNS + "|DEFAULT_GROUP|red-auth.yaml|server:\n  port: 9090\n"
	select {
	case got := <-changes:
		if got != want {
			t.Fatalf("listener heard %q, want %q", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the listener heard nothing of the change in 30s")
	}
	// The SDK also polls every 5 s: the change must have been pushed.
	if n := h.grpc.NotifyAcks(); n < 1 {
		t.Errorf("the client acknowledged %d pushed changes, want at least 1", n)
	}
	page, err := c.SearchConfig(vo.SearchConfigParam{Search: "blur", DataId: "red-*", PageNo: 1, PageSize: 10})
	if err != nil || page.TotalCount != 1 || page.PageItems[0].DataId != "red-auth.yaml" || page.PageItems[0].Content != "server:\n  port: 9090\n" {
		t.Fatalf("search = %+v, %v", page, err)
	}
	ok, err = c.DeleteConfig(vo.ConfigParam{DataId: "red-auth.yaml", Group: "DEFAULT_GROUP"})
	if err != nil || !ok {
		t.Fatalf("delete = %v, %v", ok, err)
	}
	err = h.p.DB.View(t.Context(), func(tx platform.Tx) error {
		hist, err := h.p.ConfigHistory(t.Context(), tx, dora, k, 0, 10)
		if len(hist) != 3 || hist[0].Op != configcenter.OpDelete || hist[2].Author != "dora" {
			t.Errorf("history = %+v", hist)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNacosSDKIsBoundByBerthRoles: a viewer reads but cannot publish
// (refused and audited), another project's developer reads nothing, and
// a publish where approvals are required is refused.
func TestNacosSDKIsBoundByBerthRoles(t *testing.T) {
	h := newNacosHarness(t)
	dora := h.sdkClient(t, "dora", nacosNS)
	if ok, err := dora.PublishConfig(vo.ConfigParam{DataId: "a.properties", Group: "G", Content: "a=1\n", Type: "properties"}); !ok || err != nil {
		t.Fatalf("dora publishes: %v, %v", ok, err)
	}
	vera := h.sdkClient(t, "vera", nacosNS)
	if got, err := vera.GetConfig(vo.ConfigParam{DataId: "a.properties", Group: "G"}); err != nil || got != "a=1\n" {
		t.Errorf("viewer reads %q, %v", got, err)
	}
	if ok, err := vera.PublishConfig(vo.ConfigParam{DataId: "a.properties", Group: "G", Content: "a=2\n"}); ok || err == nil {
		t.Errorf("viewer publishes: %v, %v; want refused", ok, err)
	}
	otto := h.sdkClient(t, "otto", nacosNS)
	if got, _ := otto.GetConfig(vo.ConfigParam{DataId: "a.properties", Group: "G"}); got != "" {
		t.Errorf("another project's developer reads %q", got)
	}
	prod := h.sdkClient(t, "dora", "acme.payments.prod")
	if ok, err := prod.PublishConfig(vo.ConfigParam{DataId: "a.properties", Group: "G", Content: "a=1\n"}); ok || err == nil {
		t.Errorf("a direct publish in prod: %v, %v; want refused (approvals)", ok, err)
	}
	if ok, err := dora.PublishConfig(vo.ConfigParam{DataId: "b.json", Group: "G", Content: "{\"a\": }", Type: "json"}); ok || err == nil {
		t.Errorf("invalid JSON published: %v, %v", ok, err)
	}
	var denied int
	err := h.p.DB.View(t.Context(), func(tx platform.Tx) error {
		recs, err := tx.ListAudit(t.Context(), audit.Query{Limit: 500})
		for _, r := range recs {
			if r.Action == "config.publish" && r.Outcome == audit.Denied && r.Actor == "vera" {
				denied++
			}
		}
		return err
	})
	if err != nil || denied != 1 {
		t.Errorf("denied publishes by vera audited: %d, %v; want 1", denied, err)
	}
}

// TestNacosSDKGrayReachesAVersionsPods: the SDK reads the connection
// labels Berth's driver sets on every container (nacos_app_conn_labels,
// TestRenderLabelsNacosConnectionsWithAppAndVersion) and sends them at
// connection setup; a revision grayed to red-auth:v2 reaches the client
// of a v2 pod, not that of a v1 pod, until it is promoted.
func TestNacosSDKGrayReachesAVersionsPods(t *testing.T) {
	h := newNacosHarness(t)
	k := configcenter.Key{Tenant: "acme", Project: "payments", Environment: "test", Group: "G", DataID: "red-auth.properties"}
	dora := platform.Caller{Actor: audit.Actor{User: "dora"}, Bindings: []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "acme", Project: "payments"}}}}
	publish := func(ch configcenter.Change) {
		t.Helper()
		err := h.p.Do(t.Context(), dora.Actor, audit.Event{Action: "config.publish"}, func(tx platform.Tx) error {
			_, err := h.p.PublishConfig(t.Context(), tx, dora, ch)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	publish(configcenter.Change{Key: k, Type: configcenter.Properties, Content: "pool=10\n"})
	publish(configcenter.Change{Key: k, Content: "pool=40\n", Cohort: &configcenter.Cohort{Versions: []configcenter.AppVersion{{App: "red-auth", Version: "v2"}}}})

	// The SDK reads the variable when its connection starts, at the first request.
	read := func(version string) string {
		t.Helper()
		t.Setenv("nacos_app_conn_labels", "berth.app=red-auth,berth.version="+version)
		got, err := h.sdkClient(t, "dora", nacosNS).GetConfig(vo.ConfigParam{DataId: k.DataID, Group: k.Group})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := read("v2"); got != "pool=40\n" {
		t.Errorf("the v2 pod's client reads %q, want the gray revision", got)
	}
	if got := read("v1"); got != "pool=10\n" {
		t.Errorf("the v1 pod's client reads %q, want the current revision", got)
	}
}
