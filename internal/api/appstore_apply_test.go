package api

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"berth.dev/berth/catalog"
	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store/storetest"
)

// An AppInstall document installs a chart; the same again is unchanged;
// changed values make the next chart version and a release order that
// deploys it; a bad field is named by document and path.
func TestAppInstallManifestsInstallAndUpgradeThroughAReleaseOrder(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	h := newHarness(t, storetest.SQLite(t), func(o *platform.Options) {
		o.Store = platform.StoreOptions{Renderer: kube.ChartRenderer{},
			Catalogs: []appstore.Catalog{appstore.DirCatalog{Catalog: catalog.Name, FS: catalog.Charts}}}
	})
	kc, err := os.ReadFile(c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	admin := h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/clusters", map[string]string{"name": "c1", "kubeconfig": string(kc)})
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "acme"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/acme/projects", map[string]string{"name": "pay"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/acme/projects/pay/environments",
		map[string]any{"name": "dev", "cluster": "c1", "namespace": uniqueNS("acme-pay-dev")})

	doc := func(values string) string {
		return "apiVersion: berth.dev/v1\nkind: AppInstall\nmetadata: {name: cache, tenant: acme, project: pay}\n" +
			"spec: {environment: dev, chart: redis, version: 1.0.0, values: {" + values + "}}\n"
	}
	apply := func(manifest, want string) {
		t.Helper()
		var res apitypes.ApplyResult
		h.call(admin, "POST", "/apply", manifest).decode(t, &res)
		if len(res.Objects) != 1 || res.Objects[0].Action != want {
			t.Fatalf("applied %+v, want %s", res.Objects, want)
		}
	}
	apply(doc("maxmemory: 200mb"), "created")
	apply(doc("maxmemory: 200mb"), "unchanged")
	apply(doc("maxmemory: 300mb"), "updated")

	var versions struct{ Items []struct{ Name string } }
	h.call(admin, "GET", "/tenants/acme/projects/pay/applications/cache/versions", nil).decode(t, &versions)
	if len(versions.Items) != 2 || versions.Items[1].Name != "r2" {
		t.Fatalf("versions %+v, want r1 and r2", versions)
	}
	var page struct {
		Items []struct {
			Items []struct{ Application, Version string }
		}
	}
	h.call(admin, "GET", "/tenants/acme/projects/pay/releases", nil).decode(t, &page)
	orders := page.Items
	if len(orders) != 1 || len(orders[0].Items) != 1 || orders[0].Items[0].Application != "cache" || orders[0].Items[0].Version != "r2" {
		t.Fatalf("release orders %+v, want one deploying cache r2", orders)
	}

	r := h.call(admin, "POST", "/apply", strings.Replace(doc("maxmemory: 300mb"), "version: 1.0.0", "version: latest", 1))
	if e := r.errorBody(t); r.status != http.StatusUnprocessableEntity || len(e.Fields) != 1 || e.Fields[0].Path != "document 1 (AppInstall cache): spec.version" {
		t.Fatalf("a bad version: %d %s, want 422 at document 1 (AppInstall cache): spec.version", r.status, r.body)
	}
}
