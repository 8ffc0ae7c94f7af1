package api

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/store/storetest"
)

// clusterHarness is the API over a real store, wired as berth server wires
// it to check namespaces on the clusters, with cluster c1 the real local
// cluster and tenant acme's project pay administered by the returned
// project admin.
func clusterHarness(t *testing.T) (h *harness, c *clustertest.Cluster, admin, projectAdmin string) {
	t.Helper()
	c = clustertest.Start(t)
	h = newHarness(t, storetest.SQLite(t), func(o *platform.Options) { o.Namespaces = kube.NamespaceInspector{} })
	kc, err := os.ReadFile(c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	admin = h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/clusters", map[string]string{"name": "c1", "kubeconfig": string(kc)})
	for _, tn := range []string{"acme", "zeta"} {
		h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": tn})
		h.must(http.StatusCreated, admin, "POST", "/tenants/"+tn+"/projects", map[string]string{"name": "pay"})
	}
	h.must(http.StatusCreated, admin, "POST", "/users", map[string]string{"name": "pa", "password": "password-of-pa"})
	h.must(http.StatusCreated, admin, "POST", "/tenants/acme/projects/pay/members", map[string]string{"user": "pa", "role": "project-admin"})
	return h, c, admin, h.token("pa", "password-of-pa")
}

// uniqueNS is a namespace name no other test run uses.
func uniqueNS(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1000000000)
}

// mustRefuse fails unless r is a 422 naming field.
func mustRefuse(t *testing.T, r response, field string) {
	t.Helper()
	e := r.errorBody(t)
	if r.status != http.StatusUnprocessableEntity || !slices.ContainsFunc(e.Fields, func(f resource.FieldError) bool { return strings.HasSuffix(f.Path, field) }) {
		t.Fatalf("status %d, want 422 naming %s: %s", r.status, field, r.body)
	}
}

func TestEnvironmentsCannotTakeNamespacesBerthDidNotCreateForThem(t *testing.T) {
	t.Parallel()
	h, c, admin, pa := clusterHarness(t)
	envs := "/tenants/acme/projects/pay/environments"
	foreign := uniqueNS("foreign")
	if _, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: foreign}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(t.Context(), foreign, metav1.DeleteOptions{}) })

	for _, ns := range []string{"kube-system", "kube-public", "default", "openshift-config", foreign} {
		mustRefuse(t, h.call(pa, "POST", envs, map[string]any{"name": "e1", "cluster": "c1", "namespace": ns}), "namespace")
		// The manifest path refuses it the same way.
		doc := fmt.Sprintf("apiVersion: berth.dev/v1\nkind: Environment\nmetadata: {name: e1, tenant: acme, project: pay}\nspec: {cluster: c1, namespace: %s}\n", ns)
		mustRefuse(t, h.call(pa, "POST", "/apply", doc), "namespace")
	}
	h.must(http.StatusNotFound, pa, "GET", envs+"/e1", nil) // nothing written

	// A project admin cannot grant; a platform admin grants the foreign
	// namespace to acme, whose environment may then use it.
	grant := map[string]any{"namespaces": []string{foreign}}
	h.must(http.StatusForbidden, pa, "PUT", "/clusters/c1/namespace-grants/acme", grant)
	h.must(http.StatusOK, admin, "PUT", "/clusters/c1/namespace-grants/acme", grant)
	h.must(http.StatusCreated, pa, "POST", envs, map[string]any{"name": "e1", "cluster": "c1", "namespace": foreign})
	// Never on the cluster's own namespaces, even by a grant.
	mustRefuse(t, h.call(admin, "PUT", "/clusters/c1/namespace-grants/zeta", map[string]any{"namespaces": []string{"kube-system"}}), "namespaces[0]")
	// Nor shared: another tenant, even granted it, cannot bind it.
	h.must(http.StatusOK, admin, "PUT", "/clusters/c1/namespace-grants/zeta", grant)
	h.must(http.StatusConflict, admin, "POST", "/tenants/zeta/projects/pay/environments", map[string]any{"name": "e1", "cluster": "c1", "namespace": foreign})

	// A namespace that does not exist is Berth's to create; once Berth has
	// created it for acme's environment, no other tenant's takes it over,
	// and a new namespace of acme may not rebind onto a foreign one.
	fresh := uniqueNS("fresh")
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(t.Context(), fresh, metav1.DeleteOptions{}) })
	h.must(http.StatusCreated, pa, "POST", envs, map[string]any{"name": "e2", "cluster": "c1", "namespace": fresh})
	objs, err := kube.RenderNamespace(kube.Namespace{Name: fresh, Tenant: "acme", Project: "pay", Environment: "e2"})
	if err != nil {
		t.Fatal(err)
	}
	applier, err := kube.NewApplier(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := applier.ApplyNamespace(t.Context(), objs); err != nil {
		t.Fatal(err)
	}
	h.must(http.StatusNoContent, pa, "DELETE", envs+"/e2", nil)
	h.must(http.StatusOK, admin, "PUT", "/clusters/c1/namespace-grants/zeta", map[string]any{"prefix": "fresh-"})
	mustRefuse(t, h.call(admin, "POST", "/tenants/zeta/projects/pay/environments", map[string]any{"name": "e2", "cluster": "c1", "namespace": fresh}), "namespace")
	// acme's environment of that name gets it back.
	h.must(http.StatusCreated, pa, "POST", envs, map[string]any{"name": "e2", "cluster": "c1", "namespace": fresh})
	var e map[string]any
	h.must(http.StatusOK, pa, "GET", envs+"/e2", nil).decode(t, &e)
	e["namespace"] = "kube-system"
	mustRefuse(t, h.call(pa, "PUT", envs+"/e2", e), "namespace")

	var audit apitypes.List[map[string]any]
	h.must(http.StatusOK, admin, "GET", "/audit?action=namespacegrant.set", nil).decode(t, &audit)
	if len(audit.Items) < 3 {
		t.Errorf("grants audited %d times, want 3 or more: %v", len(audit.Items), audit.Items)
	}
}
