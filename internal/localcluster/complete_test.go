package localcluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/localcluster/clustertest"
)

func job(name, exitCode string) *batchv1.Job {
	var notes map[string]string
	if exitCode != "" {
		notes = map[string]string{localcluster.ExitCodeAnnotation: exitCode}
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(int32(0)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Annotations: notes},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{
					Name: "migrate", Image: "registry.example.com/bank/migrate:1.0.0",
				}}},
			},
		},
	}
}

// A Job's pod runs to completion: the Job controller sees it succeed, or
// fail with the exit code the pod template's annotation chose.
func TestJobsPodsRunToCompletionWithTheirExitCode(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	for _, j := range []*batchv1.Job{job("ok", ""), job("broken", "3")} {
		if _, err := c.Client.BatchV1().Jobs(ns).Create(t.Context(), j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ended := func(name string, want batchv1.JobConditionType) {
		poll(t, 2*time.Minute, func(ctx context.Context) (bool, error) {
			j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, cond := range j.Status.Conditions {
				if cond.Status == corev1.ConditionTrue && (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) {
					if cond.Type != want {
						t.Fatalf("job %s ended %s (%s), want %s", name, cond.Type, cond.Message, want)
					}
					return true, nil
				}
			}
			return false, fmt.Errorf("job %s: %+v", name, j.Status)
		})
	}
	ended("ok", batchv1.JobComplete)
	ended("broken", batchv1.JobFailed)
	pods, err := c.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=broken"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of broken: %v %v", pods, err)
	}
	p := pods.Items[0]
	term := p.Status.ContainerStatuses[0].State.Terminated
	if p.Status.Phase != corev1.PodFailed || term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Errorf("pod of broken: phase %s, terminated %+v; want Failed with exit 3", p.Status.Phase, term)
	}
}
