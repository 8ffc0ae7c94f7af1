package controller_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/pipeline/tekton"
	"berth.dev/berth/internal/platform"
)

// tektonRunner is a runner whose builds are PipelineRuns on the local
// cluster, reconciled by the real Tekton controller and ended by kwok as
// annotations say; it returns the runner and the build namespace.
func tektonRunner(t *testing.T, annotations map[string]string) (*runnerEnv, string) {
	t.Helper()
	c := clustertest.Start(t)
	c.Tekton(t)
	ns := c.Namespace(t)
	exec, err := tekton.New(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	exec.Namespace, exec.Annotations, exec.Interval = ns, annotations, 200*time.Millisecond
	e := newRunnerEnvOn(t, 0, exec)
	e.run(t)
	return e, ns
}

// A run on the Tekton executor builds as a PipelineRun, and ends
// succeeded with the version pinned by the digest the push step wrote.
func TestRunnerBuildsOnTekton(t *testing.T) {
	commit, digest := strings.Repeat("5e", 20), "sha256:"+strings.Repeat("7a", 32)
	results, _ := json.Marshal(map[string]string{"commit": commit, "digest": digest})
	e, _ := tektonRunner(t, map[string]string{localcluster.StepResultsAnnotation: string(results)})
	e.trigger(t)
	r := e.waitFor(t, 1, pipeline.Succeeded)
	if r.Commit != commit || r.Digest != digest || r.Version != "r1-5e5e5e5" {
		t.Errorf("run delivered %q at %q from %q", r.Version, r.Digest, r.Commit)
	}
	for _, s := range pipeline.BuildSteps() {
		if st, _ := r.Step(s); st == nil || st.State != pipeline.Succeeded {
			t.Errorf("step %s: %+v", s, st)
		}
	}
}

// A failing step on Tekton fails the run, the step saying why.
func TestRunnerReportsAFailingTektonStep(t *testing.T) {
	e, _ := tektonRunner(t, map[string]string{
		localcluster.StepFailAnnotation:    "push",
		localcluster.StepMessageAnnotation: "unauthorized: authentication required",
	})
	e.trigger(t)
	r := e.waitFor(t, 1, pipeline.Failed)
	st, _ := r.Step(pipeline.StepPush)
	if st.State != pipeline.Failed || st.Message != "exited with code 1: unauthorized: authentication required" {
		t.Errorf("push step %+v", st)
	}
	if !strings.Contains(r.Message, "unauthorized: authentication required") {
		t.Errorf("run failed with %q", r.Message)
	}
	if st, _ := r.Step(pipeline.StepBuild); st.State != pipeline.Succeeded {
		t.Errorf("build step %+v", st)
	}
}

// Cancelling a run on Tekton cancels its PipelineRun.
func TestRunnerCancelsATektonBuild(t *testing.T) {
	e, ns := tektonRunner(t, map[string]string{localcluster.StepHoldAnnotation: "true"})
	e.trigger(t)
	k := pipeline.RunKey{Key: pipeline.Key{Tenant: "bank", Project: "pay", Name: "ci"}, Number: 1}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		r := e.get(t, 1)
		if st, _ := r.Step(pipeline.StepClone); st.State == pipeline.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the clone step never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := e.p.CancelRun(t.Context(), tx, e.admin, k, "wrong branch")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 1, pipeline.Cancelled)
	dyn, err := dynamic.NewForConfig(clustertest.Start(t).RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	pr, err := dyn.Resource(tekton.PipelineRuns).Namespace(ns).Get(context.Background(), "ci-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := unstructured.NestedString(pr.Object, "spec", "status"); s != "Cancelled" {
		t.Errorf("PipelineRun spec.status %q", s)
	}
}
