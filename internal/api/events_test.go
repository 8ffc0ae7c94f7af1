package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/logtest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store/storetest"
)

// A deployment whose events cannot be read (Berth's credentials may not
// list them) is still shown, saying that its events are missing, with the
// request ID under which the cause is logged — not as if there were none.
func TestMissingEventsAreReportedWithTheRequestID(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ctx := t.Context()
	saNS := c.Namespace(t)
	// An identity that reads what the watches need, but not events.
	_, err := c.Client.CoreV1().ServiceAccounts(saNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "berth"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role := saNS + "-no-events"
	_, err = c.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods", "services", "nodes"}, Verbs: []string{"get", "list", "watch"}},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "berth", Namespace: saNS}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.RbacV1().ClusterRoleBindings().Delete(context.Background(), role, metav1.DeleteOptions{})
		_ = c.Client.RbacV1().ClusterRoles().Delete(context.Background(), role, metav1.DeleteOptions{})
	})
	tr, err := c.Client.CoreV1().ServiceAccounts(saNS).CreateToken(ctx, "berth", &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.RESTConfig()
	kubeconfig := strings.Replace(strings.Replace(kubeconfigFor(cfg.Host), "not-a-real-token", tr.Status.Token, 1),
		"insecure-skip-tls-verify: true", fmt.Sprintf("certificate-authority-data: %q", base64.StdEncoding.EncodeToString(cfg.CAData)), 1)

	var logs logtest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	reg := kube.NewRegistry(log, nil)
	t.Cleanup(reg.Close)
	if err := reg.Connect(ctx, "c1", []byte(kubeconfig), kube.Rate{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		_, err := reg.Ready("c1")
		return err == nil, nil
	})
	if err != nil {
		t.Fatal("the cluster never became ready for the restricted identity")
	}

	st := storetest.SQLite(t)(t)
	sealer, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	p, err := platform.New(st, platform.Options{Sealer: sealer, Identity: identity.Options{Argon2: cheapArgon2}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Bootstrap(ctx, adminPassword); err != nil {
		t.Fatal(err)
	}
	a := New(Options{Log: log, Platform: p, Live: reg,
		Limiter: NewLimiter(clock.NewFake(time.Now()), LimiterOptions{PerUser: 3, PerIP: 10, Window: time.Minute})})
	mux := http.NewServeMux()
	mux.Handle(Prefix+"/", a)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h := &harness{t: t, url: srv.URL, p: p, api: a}
	tok := h.token("admin", adminPassword)

	h.must(http.StatusCreated, tok, "POST", "/clusters", map[string]string{"name": "c1", "kubeconfig": kubeconfig})
	h.must(http.StatusCreated, tok, "POST", "/tenants", map[string]string{"name": "bank"})
	h.must(http.StatusCreated, tok, "POST", "/tenants/bank/projects", map[string]string{"name": "pay"})
	h.must(http.StatusCreated, tok, "POST", "/tenants/bank/projects/pay/environments",
		map[string]string{"name": "test", "cluster": "c1", "namespace": saNS + "-pay"})
	h.must(http.StatusCreated, tok, "POST", "/tenants/bank/projects/pay/applications", map[string]string{"name": "red-auth"})
	h.must(http.StatusCreated, tok, "POST", "/tenants/bank/projects/pay/applications/red-auth/versions",
		map[string]any{"name": "v1", "image": "registry.local/red-auth:1", "resources": map[string]any{"requests": map[string]string{"cpu": "100m"}},
			"orchestration": map[string]any{"replicas": 1}})
	path := "/tenants/bank/projects/pay/environments/test/deployments/red-auth"
	h.must(http.StatusOK, tok, "PUT", path, apitypes.DeployRequest{Version: "v1"})

	r := h.must(http.StatusOK, tok, "GET", path, nil)
	var v apitypes.DeploymentView
	r.decode(t, &v)
	id := r.header.Get("X-Request-Id")
	if v.EventsError == nil || v.EventsError.Code != "events_unavailable" || v.EventsError.RequestID != id || v.EventsError.Message == "" {
		t.Fatalf("eventsError %+v (request %s), want events_unavailable with the request ID and a message", v.EventsError, id)
	}
	if line := logLine(logs.String(), id); !strings.Contains(line, "forbidden") {
		t.Errorf("log of request %s: %q, want the cause (events are forbidden to Berth's identity)", id, line)
	}
}

func logLine(logs, requestID string) string {
	for l := range strings.SplitSeq(logs, "\n") {
		if strings.Contains(l, "request_id="+requestID) {
			return l
		}
	}
	return ""
}
