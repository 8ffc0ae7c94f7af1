package kube

// Running a chart's Helm hooks (docs/app-store.md): create the object,
// wait until a Job completes or a Pod ends, honour the delete policies.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"berth.dev/berth/internal/apps"
)

// LabelHookOf marks a hook's object, and its pods, with the application
// whose chart it belongs to. Hook objects do not carry LabelApp: their
// pods are not the application's replicas.
const LabelHookOf = "berth.dev/hook-of"

// HookError is a hook that failed: its Job or Pod failed, or did not end
// in time. Pod names the pod that failed, when known.
type HookError struct {
	Hook    apps.Hook
	Event   string
	Reason  string
	Message string
	Pod     string
}

func (e *HookError) Error() string {
	msg := fmt.Sprintf("hook %s %s (%s, weight %d, %s) failed: %s: %s", e.Hook.Kind, e.Hook.Name, e.Event, e.Hook.Weight,
		e.Hook.Template, e.Reason, e.Message)
	if e.Pod != "" {
		msg += " (pod " + e.Pod + ")"
	}
	return msg
}

// HookObject returns hook h of w's chart as it is created: in w's
// namespace, with Berth's labels but LabelHookOf for LabelApp, on the
// object and on its pod template.
func HookObject(w ChartWorkload, h apps.Hook) (*unstructured.Unstructured, error) {
	o := &unstructured.Unstructured{}
	if err := o.UnmarshalJSON(h.Object); err != nil {
		return nil, fmt.Errorf("hook %s: %w", h.Name, err)
	}
	labels := map[string]string{LabelManagedBy: ManagedBy, LabelTenant: w.Tenant, LabelProject: w.Project,
		LabelEnvironment: w.Environment, LabelHookOf: w.App}
	o.SetNamespace(w.Namespace)
	o.SetLabels(merged(o.GetLabels(), labels))
	path, ok := podTemplatePaths[groupKind(o)]
	if !ok || path == nil {
		return o, nil
	}
	at := append(append([]string{}, path...), "metadata", "labels")
	have, _, _ := unstructured.NestedStringMap(o.Object, at...)
	if err := unstructured.SetNestedStringMap(o.Object, merged(have, labels), at...); err != nil {
		return nil, err
	}
	return o, nil
}

// hookPoll is how often a running hook is looked at.
const hookPoll = 250 * time.Millisecond

// RunHook runs hook h, its object obj (HookObject), for event: it
// deletes the object left by an earlier run (before-hook-creation),
// creates it, waits up to timeout for a Job to complete or a Pod to
// succeed (other kinds are done once created), and deletes it as its
// policies say. A failure is a *HookError.
func (a *Applier) RunHook(ctx context.Context, obj *unstructured.Unstructured, h apps.Hook, event string, timeout time.Duration) error {
	ref := RefOf(obj)
	if h.DeletesOn(apps.HookBeforeHookCreation) {
		if err := a.deleteAndWait(ctx, ref); err != nil {
			return err
		}
	} else if _, err := a.Get(ctx, ref); err == nil {
		return &HookError{Hook: h, Event: event, Reason: "AlreadyExists",
			Message: fmt.Sprintf("%s is left from an earlier run and the hook's delete policies (%s) do not delete it before it is created again",
				ref, strings.Join(h.DeletePolicies, ","))}
	}
	if err := a.applyOne(ctx, obj); err != nil {
		return err
	}
	herr := a.awaitHook(ctx, ref, h, event, timeout)
	var he *HookError
	if herr != nil && !errors.As(herr, &he) {
		return herr // the cluster, not the hook: retried
	}
	if herr == nil && h.DeletesOn(apps.HookSucceeded) || herr != nil && h.DeletesOn(apps.HookFailed) {
		if err := a.Delete(ctx, Inventory{ref}); err != nil {
			return errors.Join(herr, err)
		}
	}
	return herr
}

// deleteAndWait deletes ref and waits until it is gone.
func (a *Applier) deleteAndWait(ctx context.Context, ref ObjectRef) error {
	if err := a.Delete(ctx, Inventory{ref}); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, hookPoll, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := a.Get(ctx, ref)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// awaitHook waits for the hook's object to end.
func (a *Applier) awaitHook(ctx context.Context, ref ObjectRef, h apps.Hook, event string, timeout time.Duration) error {
	if ref.Kind != "Job" && ref.Kind != "Pod" || ref.Group != "" && ref.Group != "batch" {
		return nil
	}
	var failed *HookError
	err := wait.PollUntilContextTimeout(ctx, hookPoll, timeout, true, func(ctx context.Context) (bool, error) {
		live, err := a.Get(ctx, ref)
		if err != nil {
			return false, err
		}
		done, reason, msg, err := hookEnded(live)
		if err != nil || !done {
			return done, err
		}
		if reason != "" {
			failed = &HookError{Hook: h, Event: event, Reason: reason, Message: msg}
			failed.Pod, failed.Message = a.failedPod(ctx, live, msg)
		}
		return true, nil
	})
	switch {
	case failed != nil:
		return failed
	case wait.Interrupted(err) && ctx.Err() == nil:
		return &HookError{Hook: h, Event: event, Reason: "DeadlineExceeded", Message: fmt.Sprintf("it did not end within %s", timeout)}
	case err != nil:
		return fmt.Errorf("hook %s %s: %w", h.Kind, h.Name, err)
	}
	return nil
}

// hookEnded reads whether a hook's Job or Pod ended, and why it failed
// (reason empty: it succeeded).
func hookEnded(live *unstructured.Unstructured) (done bool, reason, msg string, err error) {
	if live.GetKind() == "Pod" {
		var pod corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(live.Object, &pod); err != nil {
			return false, "", "", err
		}
		switch pod.Status.Phase {
		case corev1.PodSucceeded:
			return true, "", "", nil
		case corev1.PodFailed:
			return true, "PodFailed", containerFailure(&pod), nil
		}
		return false, "", "", nil
	}
	var job batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(live.Object, &job); err != nil {
		return false, "", "", err
	}
	for _, c := range job.Status.Conditions {
		switch {
		case c.Status != corev1.ConditionTrue:
		case c.Type == batchv1.JobComplete:
			return true, "", "", nil
		case c.Type == batchv1.JobFailed:
			return true, "JobFailed", c.Reason + ": " + c.Message, nil
		}
	}
	return false, "", "", nil
}

// containerFailure says how pod's containers ended.
func containerFailure(pod *corev1.Pod) string {
	var parts []string
	for _, cs := range pod.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			parts = append(parts, fmt.Sprintf("container %s exited %d (%s)", cs.Name, t.ExitCode, t.Reason))
		}
	}
	if len(parts) == 0 {
		return orElse(pod.Status.Message, "the pod failed")
	}
	return strings.Join(parts, "; ")
}

func orElse(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// failedPod names the pod of a failed hook, with how its containers
// ended appended to msg: the pod itself, or a failed pod of the Job.
func (a *Applier) failedPod(ctx context.Context, live *unstructured.Unstructured, msg string) (string, string) {
	if live.GetKind() == "Pod" {
		return live.GetName(), msg
	}
	pods, err := a.dyn.Resource(podsGVR).Namespace(live.GetNamespace()).List(ctx,
		metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + live.GetName()})
	if err != nil {
		return "", msg
	}
	for _, u := range pods.Items {
		var pod corev1.Pod
		if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod) == nil && pod.Status.Phase == corev1.PodFailed {
			return pod.Name, msg + "; " + containerFailure(&pod)
		}
	}
	return "", msg
}
