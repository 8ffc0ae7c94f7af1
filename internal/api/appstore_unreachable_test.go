package api

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"berth.dev/berth/catalog"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store/storetest"
)

// closedAddress is a loopback address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// An install, an upgrade or an AppInstall manifest whose environment's
// cluster does not answer is refused 503, saying so, and writes nothing.
func TestAppStoreAnswers503WhenTheClusterIsUnreachable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t), func(o *platform.Options) {
		o.Store = platform.StoreOptions{Renderer: kube.ChartRenderer{},
			Catalogs: []appstore.Catalog{appstore.DirCatalog{Catalog: catalog.Name, FS: catalog.Charts}}}
	})
	admin := h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/clusters", map[string]string{"name": "down", "kubeconfig": kubeconfigFor("https://" + closedAddress(t))})
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "acme"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/acme/projects", map[string]string{"name": "pay"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/acme/projects/pay/environments", map[string]any{"name": "dev", "cluster": "down", "namespace": "acme-pay-dev"})

	body := map[string]any{"environment": "dev", "name": "cache", "catalog": catalog.Name, "chart": "redis", "version": "1.0.0"}
	manifest := "apiVersion: berth.dev/v1\nkind: AppInstall\nmetadata: {name: cache, tenant: acme, project: pay}\n" +
		"spec: {environment: dev, chart: redis, version: 1.0.0, values: {maxmemory: 100mb}}\n"
	for _, r := range []response{
		h.call(admin, "POST", "/tenants/acme/projects/pay/installs", body),
		h.call(admin, "POST", "/apply", manifest),
	} {
		e := r.errorBody(t)
		if r.status != http.StatusServiceUnavailable || e.Code != "cluster_unreachable" || r.header.Get("Retry-After") == "" ||
			len(e.Fields) != 1 || !strings.HasSuffix(e.Fields[0].Path, "environment") {
			t.Fatalf("status %d %s, want 503 cluster_unreachable at environment with Retry-After", r.status, r.body)
		}
	}
	h.must(http.StatusNotFound, admin, "GET", "/tenants/acme/projects/pay/applications/cache", nil)
}
