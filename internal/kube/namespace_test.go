package kube_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/resource"
)

func TestNamespaceMirrorsTheProjectQuota(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	name := fmt.Sprintf("bank-loans-uat-%d", time.Now().UnixNano()%100000)
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(t.Context(), name, metav1.DeleteOptions{}) })
	quota := resource.List{resource.CPU: resource.Units(8), resource.Memory: resource.Units(16 << 30), resource.Containers: resource.Units(40)}
	objs, err := kube.RenderNamespace(kube.Namespace{Name: name, Tenant: "bank", Project: "loans", Environment: "uat", Quota: quota})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := applier(t, c).Apply(t.Context(), objs, nil); err != nil {
		t.Fatal(err)
	}
	ns, err := c.Client.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil || ns.Labels[kube.LabelProject] != "loans" || ns.Labels[kube.LabelEnvironment] != "uat" {
		t.Fatalf("namespace labels %v: %v", ns.Labels, err)
	}
	rq, err := c.Client.CoreV1().ResourceQuotas(name).Get(t.Context(), "berth-project-quota", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[corev1.ResourceName]string{corev1.ResourceRequestsCPU: "8", corev1.ResourceRequestsMemory: "16Gi", corev1.ResourcePods: "40"} {
		if got := rq.Spec.Hard[k]; got.String() != want {
			t.Errorf("quota %s = %s, want %s", k, got.String(), want)
		}
	}
	lr, err := c.Client.CoreV1().LimitRanges(name).Get(t.Context(), "berth-defaults", metav1.GetOptions{})
	if err != nil || lr.Spec.Limits[0].DefaultRequest.Cpu().String() != "100m" {
		t.Errorf("limit range %+v: %v", lr, err)
	}
	// A pod stating no requests is admitted with the defaults, not refused by
	// the quota (once the quota controller has counted the namespace).
	err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		rq, err := c.Client.CoreV1().ResourceQuotas(name).Get(ctx, "berth-project-quota", metav1.GetOptions{})
		return err == nil && len(rq.Status.Hard) > 0, nil
	})
	if err != nil {
		t.Fatal("the quota controller never counted the namespace")
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "no-requests"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/x:1"}}}}
	created, err := c.Client.CoreV1().Pods(name).Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("pod without requests refused: %v", err)
	}
	if created.Spec.Containers[0].Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("defaulted requests %v", created.Spec.Containers[0].Resources.Requests)
	}
}

func TestBerthTakesFieldsBackOnlyInNamespacesItCreated(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	a := applier(t, c)
	ours, theirs := fmt.Sprintf("ours-%d", time.Now().UnixNano()%100000), fmt.Sprintf("theirs-%d", time.Now().UnixNano()%100000)
	for _, n := range []string{ours, theirs} {
		t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(context.Background(), n, metav1.DeleteOptions{}) })
	}
	render := func(name, env string) []*unstructured.Unstructured {
		objs, err := kube.RenderNamespace(kube.Namespace{Name: name, Tenant: "bank", Project: "loans", Environment: env})
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	// Someone else made "theirs" and owns its project label.
	_, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: theirs,
		Labels: map[string]string{kube.LabelProject: "ops"}}}, metav1.CreateOptions{FieldManager: "platform-team"})
	if err != nil {
		t.Fatal(err)
	}
	var conflict *kube.NamespaceConflictError
	if err := a.ApplyNamespace(t.Context(), render(theirs, "uat")); !errors.As(err, &conflict) {
		t.Fatalf("apply over another manager's label: %v, want a NamespaceConflictError", err)
	}
	if ns, _ := c.Client.CoreV1().Namespaces().Get(t.Context(), theirs, metav1.GetOptions{}); ns.Labels[kube.LabelProject] != "ops" {
		t.Fatalf("Berth took the label of a namespace it did not create: %v", ns.Labels)
	}

	// "ours" Berth creates; a label changed behind its back is taken back.
	if err := a.ApplyNamespace(t.Context(), render(ours, "uat")); err != nil {
		t.Fatal(err)
	}
	ns, err := c.Client.CoreV1().Namespaces().Get(t.Context(), ours, metav1.GetOptions{})
	if err != nil || ns.Annotations[kube.AnnotationCreated] != "true" || ns.Annotations[kube.AnnotationOwner] != "bank/loans/uat" {
		t.Fatalf("created namespace annotations %v: %v", ns.Annotations, err)
	}
	ns.Labels[kube.LabelProject] = "ops"
	if _, err := c.Client.CoreV1().Namespaces().Update(t.Context(), ns, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyNamespace(t.Context(), render(ours, "uat")); err != nil {
		t.Fatal(err)
	}
	if ns, _ := c.Client.CoreV1().Namespaces().Get(t.Context(), ours, metav1.GetOptions{}); ns.Labels[kube.LabelProject] != "loans" {
		t.Fatalf("label not taken back in Berth's namespace: %v", ns.Labels)
	}
	// Another environment never takes it over.
	if err := a.ApplyNamespace(t.Context(), render(ours, "prod")); !errors.Is(err, kube.ErrNamespaceTaken) {
		t.Fatalf("apply for another environment: %v, want ErrNamespaceTaken", err)
	}
}
