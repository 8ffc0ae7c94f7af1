// Package tekton is the pipeline executor that runs a build's steps on a
// Kubernetes cluster with Tekton Pipelines: it renders each run as a
// PipelineRun (one task whose steps are clone, build and push, named as
// Berth's steps are) in the project's build namespace, creates it, follows
// its TaskRun until it ends, and reports each step — its state, its log
// read from the step's container, and when it fails the message the step
// left — to Berth's run. Cancelling the build (a cancelled run, a passed
// deadline) sets the PipelineRun's spec.status to Cancelled; a deadline is
// also the PipelineRun's timeout, so the cluster stops the build even if
// Berth is gone.
//
// It speaks to Tekton through the dynamic client with unstructured
// objects, not Tekton's typed clientset: that module brings knative and a
// second set of Kubernetes libraries into Berth's go.mod for the four
// fields Berth reads (ADR 0017).
package tekton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/pipeline"
)

// The Tekton resources Berth creates and reads.
var (
	PipelineRuns = schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "pipelineruns"}
	TaskRuns     = schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "taskruns"}
)

// Executor runs builds as Tekton PipelineRuns on one cluster.
type Executor struct {
	client dynamic.Interface
	kube   kubernetes.Interface

	// Namespace is where every PipelineRun is created; empty: each
	// project's own "<tenant>-<project>-builds", created on first use
	// with Berth's labels.
	Namespace string
	// ServiceAccount runs the build pods (default: the namespace's
	// default); it carries the registry's push credentials.
	ServiceAccount string
	// Images are the steps' images (empty fields: DefaultImages).
	Images Images
	// Annotations are put on every PipelineRun (Tekton copies them to its
	// TaskRun and pod). The map is kept.
	Annotations map[string]string
	// Interval is how often a running build's status is read (default 1s).
	Interval time.Duration
}

var _ pipeline.Executor = (*Executor)(nil)

// New returns an executor on the cluster cfg reaches.
func New(cfg *rest.Config) (*Executor, error) {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Executor{client: client, kube: k}, nil
}

// Build implements pipeline.Executor: it creates job's PipelineRun (or
// follows the one a previous attempt created) and follows it to its end.
func (e *Executor) Build(ctx context.Context, job pipeline.Job, steps pipeline.Steps) (pipeline.Artifact, error) {
	var timeout time.Duration
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d) + time.Second // the cluster's limit comes after Berth's own
	}
	pr, err := e.render(job, timeout)
	if err != nil {
		return pipeline.Artifact{}, err
	}
	f := &follower{e: e, steps: steps, ns: pr.GetNamespace(), name: pr.GetName(), announced: map[string]int{}}
	if err := e.create(ctx, pr); err != nil {
		// Nothing ran: the failure is the first step's.
		f.fail(pipeline.StepClone, err)
		return pipeline.Artifact{}, err
	}
	return f.follow(ctx, job)
}

// create makes sure the namespace exists and creates pr in it; a
// PipelineRun of the same name is the one an earlier attempt of this run
// created, and is followed instead.
func (e *Executor) create(ctx context.Context, pr *unstructured.Unstructured) error {
	ns := pr.GetNamespace()
	if e.Namespace == "" {
		labels := map[string]string{kube.LabelManagedBy: kube.ManagedBy,
			kube.LabelTenant: pr.GetLabels()[kube.LabelTenant], kube.LabelProject: pr.GetLabels()[kube.LabelProject]}
		_, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("build namespace %s: %w", ns, err)
		}
	}
	_, err := e.client.Resource(PipelineRuns).Namespace(ns).Create(ctx, pr, metav1.CreateOptions{FieldManager: kube.ManagedBy})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create PipelineRun %s/%s: %w", ns, pr.GetName(), err)
	}
	return nil
}

// cancel asks Tekton to cancel the PipelineRun: it stops its TaskRun and
// deletes the pod. It outlives the build's context, which has ended.
func (e *Executor) cancel(ctx context.Context, ns, name string) error {
	ctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stop()
	patch := []byte(`{"spec":{"status":"Cancelled"}}`)
	_, err := e.client.Resource(PipelineRuns).Namespace(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: kube.ManagedBy})
	if err != nil {
		return fmt.Errorf("cancel PipelineRun %s/%s: %w", ns, name, err)
	}
	return nil
}

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// stepLog copies the log of step's container of pod into w, at most
// limit bytes; a log that cannot be read says why in w.
func (e *Executor) stepLog(ctx context.Context, ns, pod, step string, w io.Writer) {
	if pod == "" {
		return
	}
	limit := int64(4 << 20)
	rc, err := e.kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: "step-" + step, LimitBytes: &limit}).Stream(ctx)
	if err != nil {
		fmt.Fprintf(w, "(the log of %s/%s is not available: %v)\n", pod, "step-"+step, err)
		return
	}
	defer rc.Close()
	if _, err := io.Copy(w, io.LimitReader(rc, limit)); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(w, "(reading the log of %s/%s: %v)\n", pod, "step-"+step, err)
	}
}

// FromKubeconfig returns an executor on the cluster of the kubeconfig
// file at path (its current context).
func FromKubeconfig(path string) (*Executor, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return New(cfg)
}
