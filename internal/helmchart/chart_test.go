package helmchart

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// chartDir is the chart under test.
var chartDir = filepath.Join("..", "..", "deploy", "helm", "berth")

const (
	releaseName = "berth"
	namespace   = "platform"
)

// render renders the chart as `helm template` does, with vals over the
// chart's values, and returns its objects.
func render(t *testing.T, ns string, vals map[string]any) ([]*unstructured.Unstructured, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.ReleaseName = releaseName
	install.Namespace = ns
	install.Replace = true
	kv, err := common.ParseKubeVersion("v1.32.4") // the local cluster's
	if err != nil {
		t.Fatal(err)
	}
	install.KubeVersion = kv
	r, err := install.RunWithContext(t.Context(), ch, vals)
	if err != nil {
		return nil, err
	}
	rel, ok := r.(*release.Release)
	if !ok {
		t.Fatalf("release of type %T", r)
	}
	return decode(t, rel.Manifest), nil
}

func decode(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var obj map[string]any
		err := d.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decode manifest: %v\n%s", err, manifest)
		}
		if obj != nil {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

// mustRender renders vals, failing t on an error.
func mustRender(t *testing.T, vals map[string]any) []*unstructured.Unstructured {
	t.Helper()
	objs, err := render(t, namespace, vals)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return objs
}

// object converts the rendered object of kind and name into out; found
// says whether there was one.
func object(t *testing.T, objs []*unstructured.Unstructured, kind, name string, out any) bool {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
				t.Fatalf("%s %s: %v", kind, name, err)
			}
			return true
		}
	}
	return false
}

func deployment(t *testing.T, objs []*unstructured.Unstructured) (*appsv1.Deployment, corev1.Container) {
	t.Helper()
	var d appsv1.Deployment
	if !object(t, objs, "Deployment", releaseName, &d) {
		t.Fatal("no Deployment berth")
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("containers: %d, want 1", len(d.Spec.Template.Spec.Containers))
	}
	return &d, d.Spec.Template.Spec.Containers[0]
}

// haValues are what a bank's platform team installs: three replicas over
// PostgreSQL, secrets of their own, spread across zones as a rule.
func haValues() map[string]any {
	return map[string]any{
		"replicaCount":        3,
		"image":               map[string]any{"repository": "harbor.bank.internal/platform/berth", "tag": "v1.4.0"},
		"database":            map[string]any{"existingSecret": "berth-db", "existingSecretKey": "dsn"},
		"secrets":             map[string]any{"existingSecret": "berth-keys"},
		"persistence":         map[string]any{"accessModes": []any{"ReadWriteMany"}, "storageClass": "nfs"},
		"zoneSpread":          "required",
		"config":              map[string]any{"clusterQPS": 400, "logLevel": "debug", "auditRetention": "8760h"},
		"podDisruptionBudget": map[string]any{"maxUnavailable": 1},
		"resources": map[string]any{"requests": map[string]any{"cpu": "1", "memory": "1Gi"},
			"limits": map[string]any{"memory": "4Gi"}},
	}
}

func TestChartLintsClean(t *testing.T) {
	for name, vals := range map[string]map[string]any{"defaults": nil, "three replicas on PostgreSQL": haValues()} {
		lint := action.NewLint()
		lint.Namespace = namespace
		res := lint.Run([]string{chartDir}, vals)
		if res.TotalChartsLinted != 1 {
			t.Errorf("%s: %d charts linted, want 1 (%v)", name, res.TotalChartsLinted, res.Errors)
		}
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: lint: %s", name, m)
			}
		}
	}
}

func TestDefaultsRunOneServerOnSQLite(t *testing.T) {
	objs := mustRender(t, nil)
	d, c := deployment(t, objs)
	if *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("replicas %d, strategy %s; want 1, Recreate (SQLite is one file)", *d.Spec.Replicas, d.Spec.Strategy.Type)
	}
	if c.Image != "berth:dev" {
		t.Errorf("image %q, want berth:dev (the chart's appVersion)", c.Image)
	}
	for _, e := range c.Env {
		if e.Name == "BERTH_DATABASE" {
			t.Errorf("BERTH_DATABASE set without PostgreSQL: %+v", e)
		}
	}
	checkProbes(t, c)
	if q := c.Resources.Requests; q.Cpu().String() != "250m" || q.Memory().String() != "512Mi" {
		t.Errorf("requests %v, want cpu 250m, memory 512Mi", q)
	}
	// The data directory is the chart's claim, kept by helm uninstall.
	var pvc corev1.PersistentVolumeClaim
	if !object(t, objs, "PersistentVolumeClaim", releaseName, &pvc) || pvc.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("claim %+v, want one kept by helm uninstall", pvc.ObjectMeta)
	}
	if v := volume(t, d, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != releaseName {
		t.Errorf("data volume %+v, want the claim %s", v, releaseName)
	}
	// The chart's Secret: an admin password and a seal key the server
	// accepts (base64 of 32 bytes), kept by helm uninstall.
	var s corev1.Secret
	if !object(t, objs, "Secret", releaseName, &s) || s.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Fatalf("secret %+v, want one kept by helm uninstall", s.ObjectMeta)
	}
	if len(s.Data["adminPassword"]) < 16 {
		t.Errorf("adminPassword %q: want a generated one of 16 characters or more", s.Data["adminPassword"])
	}
	if key, err := base64.StdEncoding.DecodeString(string(s.Data["sealKey"])); err != nil || len(key) != 32 {
		t.Errorf("sealKey %q: want base64 of 32 bytes (%v)", s.Data["sealKey"], err)
	}
	checkSecretRefs(t, d, c, releaseName)
	// One replica may go: the budget does not block node drains.
	var pdb policyv1.PodDisruptionBudget
	if !object(t, objs, "PodDisruptionBudget", releaseName, &pdb) || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget %+v, want maxUnavailable 1", pdb.Spec)
	}
	var svc corev1.Service
	if !object(t, objs, "Service", releaseName, &svc) || len(svc.Spec.Ports) != 2 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[1].Port != 9080 {
		t.Errorf("service ports %+v, want http 8080 and nacos-grpc 9080", svc.Spec.Ports)
	}
}

func TestThreeReplicasOnPostgreSQLSpreadAcrossZones(t *testing.T) {
	objs := mustRender(t, haValues())
	d, c := deployment(t, objs)
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *d.Spec.Replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("strategy %+v, want a rolling update that keeps every replica until its successor is up", d.Spec.Strategy)
	}
	if c.Image != "harbor.bank.internal/platform/berth:v1.4.0" {
		t.Errorf("image %q", c.Image)
	}
	if ref := envSecret(c, "BERTH_DATABASE"); ref == nil || ref.Name != "berth-db" || ref.Key != "dsn" {
		t.Errorf("BERTH_DATABASE from %+v, want secret berth-db key dsn", ref)
	}
	checkProbes(t, c)
	checkSecretRefs(t, d, c, "berth-keys")
	// The user's Secret is used as it is: the chart makes none.
	var s corev1.Secret
	if object(t, objs, "Secret", releaseName, &s) {
		t.Errorf("the chart made Secret %s beside existingSecret berth-keys", releaseName)
	}
	spread := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) != 1 || spread[0].TopologyKey != "topology.kubernetes.io/zone" || spread[0].WhenUnsatisfiable != corev1.DoNotSchedule || spread[0].MaxSkew != 1 ||
		spread[0].LabelSelector.MatchLabels["app.kubernetes.io/instance"] != releaseName {
		t.Errorf("topology spread %+v, want zones, required, skew 1, over the release's pods", spread)
	}
	if a := d.Spec.Template.Spec.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
		a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("anti-affinity %+v, want replicas on different nodes where possible", a)
	}
	if q := c.Resources.Requests; q.Cpu().String() != "1" || q.Memory().String() != "1Gi" {
		t.Errorf("requests %v, want cpu 1, memory 1Gi", q)
	}
	// The configuration file carries the settings, each a string as the
	// server's strict configuration wants.
	var cm corev1.ConfigMap
	if !object(t, objs, "ConfigMap", releaseName, &cm) {
		t.Fatal("no ConfigMap")
	}
	for _, line := range []string{`clusterQPS: "400"`, `logLevel: "debug"`, `auditRetention: "8760h"`, `logFormat: "json"`} {
		if !strings.Contains(cm.Data["berth.yaml"], line) {
			t.Errorf("berth.yaml lacks %s:\n%s", line, cm.Data["berth.yaml"])
		}
	}
}

func checkProbes(t *testing.T, c corev1.Container) {
	t.Helper()
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		want := "/healthz"
		if name == "readiness" {
			want = "/readyz"
		}
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v, want GET %s on port http", name, p, want)
		}
	}
	if p := c.StartupProbe; p != nil && p.PeriodSeconds*p.FailureThreshold < 120 {
		t.Errorf("startup probe allows %ds, want at least 2 minutes for migrations", p.PeriodSeconds*p.FailureThreshold)
	}
}

// checkSecretRefs checks that the admin password and the seal key come
// from Secret name, the key as a file the server accepts (root's, mode
// 0440 with the pod's fsGroup: internal/keyfile).
func checkSecretRefs(t *testing.T, d *appsv1.Deployment, c corev1.Container, name string) {
	t.Helper()
	if ref := envSecret(c, "BERTH_ADMIN_PASSWORD"); ref == nil || ref.Name != name || ref.Key != "adminPassword" {
		t.Errorf("BERTH_ADMIN_PASSWORD from %+v, want secret %s key adminPassword", ref, name)
	}
	v := volume(t, d, "secrets")
	if v.Secret == nil || v.Secret.SecretName != name || len(v.Secret.Items) != 1 || v.Secret.Items[0].Key != "sealKey" ||
		v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o400 {
		t.Errorf("secrets volume %+v, want sealKey of secret %s, mode 0400", v, name)
	}
	sc := d.Spec.Template.Spec.SecurityContext
	if sc == nil || sc.FSGroup == nil || *sc.FSGroup != 65532 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Errorf("pod security context %+v, want non-root with fsGroup 65532", sc)
	}
	var keyFile string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--seal-key-file="); ok {
			keyFile = v
		}
	}
	var mounted bool
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.Name == "secrets" && keyFile == m.MountPath+"/sealKey"
	}
	if !mounted {
		t.Errorf("--seal-key-file %q is not the mounted sealKey (args %v)", keyFile, c.Args)
	}
}

func envSecret(c corev1.Container, name string) *corev1.SecretKeySelector {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil {
			return e.ValueFrom.SecretKeyRef
		}
	}
	return nil
}

func volume(t *testing.T, d *appsv1.Deployment, name string) corev1.Volume {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %s", name)
	return corev1.Volume{}
}

// TestClusterRoleGrantsWhatTheDriverDoes compares the ClusterRole with
// what internal/kube does on a cluster, read from its code: server-side
// apply (create, patch), get, prune (delete), the watch, and the terminal.
func TestClusterRoleGrantsWhatTheDriverDoes(t *testing.T) {
	objs := mustRender(t, nil)
	var role rbacv1.ClusterRole
	if !object(t, objs, "ClusterRole", releaseName, &role) {
		t.Fatal("no ClusterRole")
	}
	got := map[string]string{}
	for _, r := range role.Rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("rule %+v: want none by name or URL", r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if v == "*" || res == "*" || g == "*" {
						t.Errorf("rule %+v: wildcard", r)
					}
					got[g+"/"+res] += v + " "
				}
			}
		}
	}
	applied := "get create patch delete "
	want := map[string]string{
		"/namespaces":                          "get create patch ",
		"/configmaps":                          applied,
		"/secrets":                             applied,
		"/services":                            applied + "list watch ",
		"/resourcequotas":                      applied,
		"/limitranges":                         applied,
		"apps/deployments":                     applied + "list watch ",
		"policy/poddisruptionbudgets":          applied,
		"autoscaling/horizontalpodautoscalers": applied,
		"networking.k8s.io/networkpolicies":    applied + "list ",
		"networking.istio.io/virtualservices":  applied,
		"networking.istio.io/destinationrules": applied,
		"gateway.networking.k8s.io/httproutes": applied,
		"/pods":                                "list watch ",
		"/nodes":                               "list watch ",
		"discovery.k8s.io/endpointslices":      "list ",
		"/events":                              "list ",
		"/pods/log":                            "get ",
		"/pods/exec":                           "get create ",
	}
	for res, verbs := range want {
		if !sameVerbs(got[res], verbs) {
			t.Errorf("%s: verbs %q, want %q", res, got[res], verbs)
		}
	}
	for res, verbs := range got {
		if _, ok := want[res]; !ok {
			t.Errorf("%s: verbs %q granted, which the driver never uses", res, verbs)
		}
	}
	var binding rbacv1.ClusterRoleBinding
	if !object(t, objs, "ClusterRoleBinding", releaseName, &binding) || binding.RoleRef.Name != releaseName ||
		len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "ServiceAccount" || binding.Subjects[0].Name != releaseName || binding.Subjects[0].Namespace != namespace {
		t.Errorf("binding %+v, want the role bound to service account %s/%s", binding, namespace, releaseName)
	}
}

func sameVerbs(a, b string) bool {
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, v := range strings.Fields(s) {
			m[v] = true
		}
		return m
	}
	x, y := set(a), set(b)
	if len(x) != len(y) {
		return false
	}
	for v := range x {
		if !y[v] {
			return false
		}
	}
	return true
}

// leaseName is the Lease `berth server` elects its leader on
// (servercmd.LeaseName, docs/install.md "Several replicas").
const leaseName = "berth-controllers"

// kubeElectionValues are haValues electing the leader on a Kubernetes
// Lease.
func kubeElectionValues() map[string]any {
	v := haValues()
	v["leaderElection"] = "kubernetes"
	return v
}

// env returns the plain value of the container's variable name, and
// whether it is set.
func env(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// TestKubernetesElectionMountsTheTokenAndGrantsTheLeaseOnly renders the
// chart with leaderElection=kubernetes: the server is told so, with the
// release namespace as the lease namespace; its pods mount their token;
// a Role in the release namespace grants get and update on the server's
// Lease by name and create on leases, nothing else, bound to the chart's
// service account. With the default election none of that is there.
func TestKubernetesElectionMountsTheTokenAndGrantsTheLeaseOnly(t *testing.T) {
	objs := mustRender(t, kubeElectionValues())
	d, c := deployment(t, objs)
	if v, _ := env(c, "BERTH_LEADER_ELECTION"); v != "kubernetes" {
		t.Errorf("BERTH_LEADER_ELECTION %q, want kubernetes", v)
	}
	if v, _ := env(c, "BERTH_LEASE_NAMESPACE"); v != namespace {
		t.Errorf("BERTH_LEASE_NAMESPACE %q, want the release namespace %s", v, namespace)
	}
	if a := d.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || !*a {
		t.Errorf("automountServiceAccountToken %v: want the token mounted (in-cluster config)", a != nil && *a)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy %s, want RollingUpdate (the replicas elect their leader)", d.Spec.Strategy.Type)
	}
	name := releaseName + "-leader-election"
	var role rbacv1.Role
	if !object(t, objs, "Role", name, &role) {
		t.Fatalf("no Role %s (%s)", name, manifest(objs))
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{leaseName}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
	}
	if !reflect.DeepEqual(role.Rules, want) {
		t.Errorf("Role rules %+v, want exactly %+v", role.Rules, want)
	}
	if role.Namespace != "" && role.Namespace != namespace {
		t.Errorf("Role in namespace %q, want the release namespace", role.Namespace)
	}
	var binding rbacv1.RoleBinding
	if !object(t, objs, "RoleBinding", name, &binding) || binding.RoleRef.Kind != "Role" || binding.RoleRef.Name != name ||
		len(binding.Subjects) != 1 || binding.Subjects[0].Kind != "ServiceAccount" || binding.Subjects[0].Name != releaseName || binding.Subjects[0].Namespace != namespace {
		t.Errorf("binding %+v, want Role %s bound to service account %s/%s", binding, name, namespace, releaseName)
	}
	// The Role does not depend on rbac.create (the cluster driver's ClusterRole).
	v := kubeElectionValues()
	v["rbac"] = map[string]any{"create": false}
	if !object(t, mustRender(t, v), "Role", name, &role) {
		t.Errorf("rbac.create=false: no Role %s, which the election needs", name)
	}

	for vname, vals := range map[string]map[string]any{"defaults": nil, "three replicas on PostgreSQL": haValues()} {
		objs := mustRender(t, vals)
		d, c := deployment(t, objs)
		if v, _ := env(c, "BERTH_LEADER_ELECTION"); v != "auto" {
			t.Errorf("%s: BERTH_LEADER_ELECTION %q, want auto", vname, v)
		}
		if _, ok := env(c, "BERTH_LEASE_NAMESPACE"); ok {
			t.Errorf("%s: BERTH_LEASE_NAMESPACE set without kubernetes election", vname)
		}
		if a := d.Spec.Template.Spec.AutomountServiceAccountToken; a == nil || *a {
			t.Errorf("%s: automountServiceAccountToken unset or true, want false", vname)
		}
		for _, o := range objs {
			if o.GetKind() == "Role" || o.GetKind() == "RoleBinding" {
				t.Errorf("%s: %s %s rendered without kubernetes election", vname, o.GetKind(), o.GetName())
			}
		}
	}
	// none: one server that always leads is never surged next to another.
	v = haValues()
	v["replicaCount"], v["leaderElection"] = 1, "none"
	if d, _ := deployment(t, mustRender(t, v)); d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("leaderElection none: strategy %s, want Recreate (two servers would both lead)", d.Spec.Strategy.Type)
	}
}

func TestBadValuesAreRefusedNamingThePath(t *testing.T) {
	tests := []struct {
		name string
		vals map[string]any
		want []string // each in the error
	}{
		{"replicas as words", map[string]any{"replicaCount": "three"}, []string{"replicaCount"}},
		{"a spread that is no mode", map[string]any{"zoneSpread": "sometimes"}, []string{"zoneSpread"}},
		{"a setting the server does not have", map[string]any{"config": map[string]any{"clusterQps": "100"}}, []string{"config", "clusterQps"}},
		{"a setting the chart owns", map[string]any{"config": map[string]any{"database": "postgres://x"}}, []string{"config", "database"}},
		{"a log level the server does not know", map[string]any{"config": map[string]any{"logLevel": "verbose"}}, []string{"config/logLevel"}},
		{"a seal key of the wrong size", map[string]any{"secrets": map[string]any{"sealKey": "c2hvcnQ="}}, []string{"secrets.sealKey: want base64 of 32 bytes"}},
		{"a database that is not PostgreSQL", map[string]any{"database": map[string]any{"url": "mysql://db/berth"}}, []string{"database.url: want a postgres:// URL"}},
		{"a database URL and a database Secret", map[string]any{"database": map[string]any{"url": "postgres://db/berth", "existingSecret": "db"}},
			[]string{"database: give either database.url or database.existingSecret"}},
		{"a digest that is not one", map[string]any{"image": map[string]any{"repository": "berth", "digest": "latest"}}, []string{"image/digest"}},
		{"an unknown top-level key", map[string]any{"replicas": 3}, []string{"replicas"}},
		{"three replicas on SQLite", map[string]any{"replicaCount": 3},
			[]string{"replicaCount: 3 replicas need PostgreSQL"}},
		{"an election the server does not know", map[string]any{"leaderElection": "raft"}, []string{"leaderElection"}},
		{"kubernetes election on SQLite", map[string]any{"leaderElection": "kubernetes"},
			[]string{"leaderElection: kubernetes needs PostgreSQL"}},
		{"postgres election on SQLite", map[string]any{"leaderElection": "postgres"},
			[]string{"leaderElection: postgres needs PostgreSQL"}},
		{"three replicas that all lead", map[string]any{"leaderElection": "none", "replicaCount": 3, "database": map[string]any{"url": "postgres://db/berth"},
			"persistence": map[string]any{"enabled": false}}, []string{"leaderElection: none", "3 replicas"}},
		{"three replicas on one ReadWriteOnce volume", map[string]any{"replicaCount": 3, "database": map[string]any{"existingSecret": "db"}},
			[]string{"persistence.accessModes", "ReadWriteMany"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, namespace, tt.vals)
			if err == nil {
				t.Fatal("rendered; want a refusal")
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			// Secrets are never echoed.
			for _, secret := range []string{"c2hvcnQ=", "db/berth"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows the value %q", err, secret)
				}
			}
		})
	}
}

// manifest joins objs back into YAML, for failure messages.
func manifest(objs []*unstructured.Unstructured) string {
	var b bytes.Buffer
	for _, o := range objs {
		b.WriteString(o.GetKind() + "/" + o.GetName() + "\n")
	}
	return b.String()
}
