package tekton_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"berth.dev/berth/internal/localcluster"
	"berth.dev/berth/internal/localcluster/clustertest"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/pipeline/tekton"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// recorder hears a build's steps: the leaf these tests read.
type recorder struct {
	mu     sync.Mutex
	events []string
	errs   map[string]error
}

func (r *recorder) Begin(step string) io.Writer {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "begin "+step)
	return io.Discard
}

func (r *recorder) End(step string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	state := "ok"
	if err != nil {
		state = "failed"
	}
	r.events = append(r.events, "end "+step+" "+state)
	if r.errs == nil {
		r.errs = map[string]error{}
	}
	r.errs[step] = err
}

func (r *recorder) seen() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.events, ", ")
}

// setup starts the shared cluster and Tekton's controller and returns an
// executor on a namespace of t's.
func setup(t *testing.T, annotations map[string]string) (*tekton.Executor, dynamic.Interface, string) {
	t.Helper()
	c := clustertest.Start(t)
	c.Tekton(t)
	ns := c.Namespace(t)
	e, err := tekton.New(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	e.Namespace, e.Annotations, e.Interval = ns, annotations, 200*time.Millisecond
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return e, dyn, ns
}

func job(n int64) pipeline.Job {
	return pipeline.Job{
		Run:        pipeline.RunKey{Key: pipeline.Key{Tenant: "bank", Project: "pay", Name: "red-auth-ci"}, Number: n},
		Repository: "https://git.bank.example/pay/red-auth.git", Ref: "refs/heads/main",
		Build: pipeline.Build{Type: pipeline.Go, Package: "./cmd/server", Image: "registry.bank.example/pay/red-auth"},
		Image: fmt.Sprintf("registry.bank.example/pay/red-auth:r%d", n),
	}
}

func pipelineRun(t *testing.T, dyn dynamic.Interface, ns, name string) *unstructured.Unstructured {
	t.Helper()
	pr, err := dyn.Resource(tekton.PipelineRuns).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

// condition returns obj's Succeeded condition's status and reason.
func condition(obj *unstructured.Unstructured) (string, string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == "Succeeded" {
			return fmt.Sprint(m["status"]), fmt.Sprint(m["reason"])
		}
	}
	return "", ""
}

// A build runs as a PipelineRun that Tekton's controller reconciles into a
// TaskRun and a pod; kwok ends the pod's steps, and the build reports
// clone, build and push in order with the commit and digest the steps
// wrote.
func TestABuildRunsAsAPipelineRunThatTektonReconciles(t *testing.T) {
	commit, digest := strings.Repeat("c0", 20), "sha256:"+strings.Repeat("d1", 32)
	results, _ := json.Marshal(map[string]string{"commit": commit, "digest": digest})
	e, dyn, ns := setup(t, map[string]string{localcluster.StepResultsAnnotation: string(results)})
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	art, err := e.Build(ctx, job(1), rec)
	if err != nil {
		t.Fatalf("build: %v (steps: %s)", err, rec.seen())
	}
	if art.Commit != commit || art.Digest != digest || art.Image != "registry.bank.example/pay/red-auth:r1" {
		t.Errorf("artifact %+v", art)
	}
	if got, want := rec.seen(), "begin clone, end clone ok, begin build, end build ok, begin push, end push ok"; got != want {
		t.Errorf("steps: %s, want %s", got, want)
	}
	pr := pipelineRun(t, dyn, ns, "red-auth-ci-1")
	if st, reason := condition(pr); st != "True" || reason != "Succeeded" {
		t.Errorf("PipelineRun condition %s/%s", st, reason)
	}
	// The build's deadline bounds the PipelineRun on the cluster too.
	timeout, _, _ := unstructured.NestedString(pr.Object, "spec", "timeouts", "pipeline")
	if d, err := time.ParseDuration(timeout); err != nil || d <= 0 || d > 3*time.Minute+time.Second {
		t.Errorf("PipelineRun timeouts.pipeline %q", timeout)
	}
	// What comes from outside reaches the steps as parameters, never as
	// part of a script.
	tasks, _, _ := unstructured.NestedSlice(pr.Object, "spec", "pipelineSpec", "tasks")
	steps0, _, _ := unstructured.NestedSlice(tasks[0].(map[string]any), "taskSpec", "steps")
	for _, s := range steps0 {
		if script := fmt.Sprint(s.(map[string]any)["script"]); strings.Contains(script, "red-auth") {
			t.Errorf("a step's script holds the job's values:\n%s", script)
		}
	}
	params, _, _ := unstructured.NestedSlice(pr.Object, "spec", "params")
	if fmt.Sprint(params) != fmt.Sprint([]any{
		map[string]any{"name": "repository", "value": "https://git.bank.example/pay/red-auth.git"},
		map[string]any{"name": "branch", "value": "main"}, map[string]any{"name": "commit", "value": ""},
		map[string]any{"name": "image", "value": "registry.bank.example/pay/red-auth:r1"},
		map[string]any{"name": "package", "value": "./cmd/server"}, map[string]any{"name": "dockerfile", "value": "Dockerfile"},
		map[string]any{"name": "context", "value": "."},
	}) {
		t.Errorf("PipelineRun params %v", params)
	}
	l := pr.GetLabels()
	if l["berth.dev/tenant"] != "bank" || l["berth.dev/project"] != "pay" || l[tekton.LabelPipeline] != "red-auth-ci" || l[tekton.LabelRun] != "1" {
		t.Errorf("PipelineRun labels %v", l)
	}
	// The TaskRun is Tekton's: created by its controller, carrying
	// Berth's labels down from the PipelineRun, with the steps' states.
	trs, err := dyn.Resource(tekton.TaskRuns).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "tekton.dev/pipelineRun=red-auth-ci-1"})
	if err != nil || len(trs.Items) != 1 {
		t.Fatalf("TaskRuns of the PipelineRun: %v, %v", trs, err)
	}
	tr := trs.Items[0]
	if tr.GetLabels()[tekton.LabelRun] != "1" {
		t.Errorf("TaskRun labels %v", tr.GetLabels())
	}
	steps, _, _ := unstructured.NestedSlice(tr.Object, "status", "steps")
	var names []string
	for _, s := range steps {
		names = append(names, fmt.Sprint(s.(map[string]any)["name"]))
	}
	if strings.Join(names, ",") != "clone,build,push" {
		t.Errorf("TaskRun steps %v", names)
	}
}

// A failing step fails the build with its exit code and the message it
// left; the steps after it never begin.
func TestAFailingStepIsReportedWithItsMessage(t *testing.T) {
	e, dyn, ns := setup(t, map[string]string{
		localcluster.StepFailAnnotation:     "build",
		localcluster.StepExitCodeAnnotation: "2",
		localcluster.StepMessageAnnotation:  "cmd/server/main.go:7:2: undefined: fmt.Printn",
	})
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	_, err := e.Build(ctx, job(2), rec)
	want := "exited with code 2: cmd/server/main.go:7:2: undefined: fmt.Printn"
	if err == nil || err.Error() != want {
		t.Fatalf("build error %v, want %q", err, want)
	}
	if got := rec.seen(); got != "begin clone, end clone ok, begin build, end build failed" {
		t.Errorf("steps: %s", got)
	}
	if got := rec.errs["build"]; got == nil || got.Error() != want {
		t.Errorf("build step error %v", got)
	}
	if st, reason := condition(pipelineRun(t, dyn, ns, "red-auth-ci-2")); st != "False" || reason != "Failed" {
		t.Errorf("PipelineRun condition %s/%s", st, reason)
	}
}

// Cancelling a build cancels its PipelineRun: Tekton stops the TaskRun
// and the PipelineRun ends Cancelled.
func TestCancellingABuildCancelsItsPipelineRun(t *testing.T) {
	e, dyn, ns := setup(t, map[string]string{localcluster.StepHoldAnnotation: "true"})
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.Build(ctx, job(3), rec)
		done <- err
	}()
	// Cancel once the steps run.
	waitUntil(t, func() bool { return strings.HasPrefix(rec.seen(), "begin clone") })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("build error %v, want cancelled", err)
	}
	if got := rec.seen(); got != "begin clone, end clone failed" {
		t.Errorf("steps: %s", got)
	}
	pr := pipelineRun(t, dyn, ns, "red-auth-ci-3")
	if s, _, _ := unstructured.NestedString(pr.Object, "spec", "status"); s != "Cancelled" {
		t.Errorf("PipelineRun spec.status %q", s)
	}
	waitUntil(t, func() bool {
		_, reason := condition(pipelineRun(t, dyn, ns, "red-auth-ci-3"))
		return reason == "Cancelled"
	})
}

// waitUntil polls cond until it holds, failing t after two minutes.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
