package tekton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/pipeline"
)

// follower follows one PipelineRun and tells Berth's steps what its
// TaskRun's steps do, each step begun and ended once, in order.
type follower struct {
	e        *Executor
	steps    pipeline.Steps
	ns, name string
	// announced: 1 when a step has begun, 2 when it has ended.
	announced map[string]int
	logs      map[string]io.Writer
}

// follow reads the PipelineRun and its TaskRun every Interval until the
// PipelineRun ends or ctx does (then it cancels the PipelineRun).
func (f *follower) follow(ctx context.Context, job pipeline.Job) (pipeline.Artifact, error) {
	interval := f.e.Interval
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		pr, err := f.e.client.Resource(PipelineRuns).Namespace(f.ns).Get(ctx, f.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			err = fmt.Errorf("PipelineRun %s/%s was deleted", f.ns, f.name)
			f.fail(f.current(), err)
			return pipeline.Artifact{}, err
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			err = fmt.Errorf("read PipelineRun %s/%s: %w", f.ns, f.name, err)
			f.fail(f.current(), err)
			return pipeline.Artifact{}, err
		case err == nil:
			tr := f.taskRun(ctx, pr)
			f.observe(ctx, tr)
			if st, _, msg := succeeded(pr); st != metav1.ConditionUnknown {
				return f.finish(ctx, job, tr, st == metav1.ConditionTrue, msg)
			}
		}
		// Other errors are the API server's or the network's: read again
		// (until the build's deadline).
		select {
		case <-ctx.Done():
			return pipeline.Artifact{}, f.interrupted(ctx)
		case <-tick.C:
		}
	}
}

// interrupted cancels the PipelineRun and ends the step that was running.
func (f *follower) interrupted(ctx context.Context) error {
	err := ctx.Err()
	if cerr := f.e.cancel(ctx, f.ns, f.name); cerr != nil {
		err = errors.Join(err, cerr)
	}
	for _, s := range buildSteps {
		if f.announced[s] == 1 {
			f.end(s, ctx.Err())
		}
	}
	return err
}

// taskRun returns the PipelineRun's TaskRun, or nil while it has none.
func (f *follower) taskRun(ctx context.Context, pr *unstructured.Unstructured) *unstructured.Unstructured {
	refs, _, _ := unstructured.NestedSlice(pr.Object, "status", "childReferences")
	for _, r := range refs {
		m, _ := r.(map[string]any)
		if m["kind"] != "TaskRun" || m["pipelineTaskName"] != taskName {
			continue
		}
		name, _ := m["name"].(string)
		tr, err := f.e.client.Resource(TaskRuns).Namespace(f.ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return tr
	}
	return nil
}

// buildSteps are the steps the PipelineRun runs, in order.
var buildSteps = []string{pipeline.StepClone, pipeline.StepBuild, pipeline.StepPush}

// observe announces what tr's steps did since the last look, in order (a
// step begins only after the one before it ended, however many a look
// finds running): a step that started begins; one that ended well ends,
// its log copied from its container. A failed step ends once the TaskRun has (Tekton records the
// step's results then), and push only when the build does (finish), so
// its end can still report a missing digest.
func (f *follower) observe(ctx context.Context, tr *unstructured.Unstructured) {
	if tr == nil {
		return
	}
	done, _, _ := succeeded(tr)
	pod, _, _ := unstructured.NestedString(tr.Object, "status", "podName")
	for _, s := range stepStates(tr) {
		if !isBuildStep(s.name) || f.announced[s.name] == 2 {
			continue
		}
		if s.skipped || (s.terminated == nil && !s.running) {
			return
		}
		if f.announced[s.name] == 0 {
			f.begin(s.name)
		}
		if s.terminated == nil || s.name == pipeline.StepPush || (s.exitCode() != 0 && done == metav1.ConditionUnknown) {
			return // the next steps are announced after this one ends
		}
		f.e.stepLog(ctx, f.ns, pod, s.name, f.logs[s.name])
		f.end(s.name, s.err())
	}
}

// finish ends the build when the PipelineRun has: succeeded, the artifact
// from the task's results; failed, the failing step's error, or the
// PipelineRun's message on the step it stopped at.
func (f *follower) finish(ctx context.Context, job pipeline.Job, tr *unstructured.Unstructured, ok bool, msg string) (pipeline.Artifact, error) {
	pod := ""
	if tr != nil {
		pod, _, _ = unstructured.NestedString(tr.Object, "status", "podName")
	}
	for _, s := range stepStates(tr) {
		if s.name != pipeline.StepPush || f.announced[s.name] == 2 || s.terminated == nil || s.skipped {
			continue
		}
		if f.announced[s.name] == 0 {
			f.begin(s.name)
		}
		f.e.stepLog(ctx, f.ns, pod, s.name, f.logs[s.name])
		if err := s.err(); err != nil {
			f.end(s.name, err)
			return pipeline.Artifact{}, err
		}
	}
	if !ok {
		err := fmt.Errorf("the PipelineRun failed: %s", msg)
		for _, s := range stepStates(tr) {
			if f.announced[s.name] == 2 && s.exitCode() != 0 {
				err = s.err()
			}
		}
		if step := f.current(); f.announced[step] != 2 {
			f.fail(step, err)
		}
		return pipeline.Artifact{}, err
	}
	art := pipeline.Artifact{Image: job.Image, Commit: result(tr, resultCommit), Digest: result(tr, resultDigest)}
	var err error
	switch {
	case art.Commit == "":
		err = errors.New("the build wrote no commit result")
	case !digestPattern.MatchString(art.Digest):
		err = fmt.Errorf("the build wrote no image digest (result %q: %q)", resultDigest, art.Digest)
	}
	f.fail(pipeline.StepPush, err)
	if err != nil {
		return pipeline.Artifact{}, err
	}
	return art, nil
}

// current is the step the build is at: the last one begun, or clone.
func (f *follower) current() string {
	cur := pipeline.StepClone
	for _, s := range buildSteps {
		if f.announced[s] > 0 {
			cur = s
		}
	}
	return cur
}

func (f *follower) begin(step string) {
	if f.logs == nil {
		f.logs = map[string]io.Writer{}
	}
	f.logs[step] = f.steps.Begin(step)
	f.announced[step] = 1
}

func (f *follower) end(step string, err error) {
	f.steps.End(step, err)
	f.announced[step] = 2
}

// fail ends step with err (nil: succeeded), beginning it first if it had
// not begun; a step already ended is left as it is.
func (f *follower) fail(step string, err error) {
	switch f.announced[step] {
	case 2:
		return
	case 0:
		f.begin(step)
	}
	if err != nil {
		fmt.Fprintln(f.logs[step], err)
	}
	f.end(step, err)
}

func isBuildStep(name string) bool {
	for _, s := range buildSteps {
		if s == name {
			return true
		}
	}
	return false
}

// succeeded reads obj's Succeeded condition: its status (Unknown while
// there is none), reason and message.
func succeeded(obj *unstructured.Unstructured) (metav1.ConditionStatus, string, string) {
	if obj == nil {
		return metav1.ConditionUnknown, "", ""
	}
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Succeeded" {
			continue
		}
		st, _ := m["status"].(string)
		reason, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		return metav1.ConditionStatus(st), reason, msg
	}
	return metav1.ConditionUnknown, "", ""
}

// stepState is what a TaskRun's status says of one step.
type stepState struct {
	name       string
	running    bool
	terminated map[string]any
	skipped    bool
	message    string // the step's result "message"
}

func stepStates(tr *unstructured.Unstructured) []stepState {
	if tr == nil {
		return nil
	}
	raw, _, _ := unstructured.NestedSlice(tr.Object, "status", "steps")
	out := make([]stepState, 0, len(raw))
	for _, r := range raw {
		m, _ := r.(map[string]any)
		s := stepState{}
		s.name, _ = m["name"].(string)
		_, s.running = m["running"].(map[string]any)
		s.terminated, _ = m["terminated"].(map[string]any)
		s.skipped = m["terminationReason"] == "Skipped"
		results, _ := m["results"].([]any)
		for _, res := range results {
			rm, _ := res.(map[string]any)
			if rm["name"] == resultMessage {
				s.message, _ = rm["value"].(string)
			}
		}
		out = append(out, s)
	}
	return out
}

func (s stepState) exitCode() int64 {
	if s.terminated == nil {
		return 0
	}
	switch c := s.terminated["exitCode"].(type) {
	case int64:
		return c
	case float64:
		return int64(c)
	}
	return 0
}

// err is the step's failure: its exit code and the message it left, or
// nil when it exited 0.
func (s stepState) err() error {
	code := s.exitCode()
	if code == 0 {
		return nil
	}
	if msg := strings.TrimSpace(s.message); msg != "" {
		return fmt.Errorf("exited with code %d: %s", code, msg)
	}
	reason, _ := s.terminated["reason"].(string)
	return fmt.Errorf("exited with code %d (%s)", code, reason)
}

// result returns tr's task result name, "" when it has none.
func result(tr *unstructured.Unstructured, name string) string {
	if tr == nil {
		return ""
	}
	results, _, _ := unstructured.NestedSlice(tr.Object, "status", "results")
	for _, r := range results {
		m, _ := r.(map[string]any)
		if m["name"] == name {
			v, _ := m["value"].(string)
			return strings.TrimSpace(v)
		}
	}
	return ""
}
