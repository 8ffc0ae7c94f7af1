package controller_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/notify"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/tenancy"
)

// flaky is an executor whose first build fails at its build step; the
// builds after it succeed. It counts the builds.
type flaky struct {
	mu     sync.Mutex
	builds int
}

func (f *flaky) Build(_ context.Context, job pipeline.Job, steps pipeline.Steps) (pipeline.Artifact, error) {
	f.mu.Lock()
	f.builds++
	n := f.builds
	f.mu.Unlock()
	fmt.Fprintf(steps.Begin(pipeline.StepClone), "clone, build %d\n", n)
	steps.End(pipeline.StepClone, nil)
	w := steps.Begin(pipeline.StepBuild)
	if n == 1 {
		fmt.Fprintln(w, "the compiler ran out of memory")
		err := errors.New("go build exited with 2")
		steps.End(pipeline.StepBuild, err)
		return pipeline.Artifact{}, err
	}
	fmt.Fprintf(w, "build %d\n", n)
	steps.End(pipeline.StepBuild, nil)
	_ = steps.Begin(pipeline.StepPush)
	steps.End(pipeline.StepPush, nil)
	return pipeline.Artifact{Image: job.Image, Digest: "sha256:" + strings.Repeat("d", 64), Commit: strings.Repeat("b", 40)}, nil
}

// TestRetryRunsTheFailedBuildAgainAndRecordsWhoRetried: a run whose build
// step failed is retried by another person; the clone, build and push run
// again (the build twice in all), the run delivers its version, the steps
// count their attempt, and the retry is in the run's decisions and the
// audit trail with who retried and what had failed. A succeeded run, and
// a step after the failed one, cannot be retried.
func TestRetryRunsTheFailedBuildAgainAndRecordsWhoRetried(t *testing.T) {
	t.Parallel()
	f := &flaky{}
	e := newRunnerEnvOn(t, 0, f)
	e.run(t)
	e.trigger(t)
	failed := e.waitFor(t, 1, pipeline.Failed)
	if st, _ := failed.Step(pipeline.StepBuild); st.State != pipeline.Failed || !strings.Contains(st.LogTail, "out of memory") {
		t.Fatalf("build step %+v", st)
	}
	k := failed.RunKey
	bob := platform.Caller{Actor: audit.Actor{User: "bob"}, Bindings: []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "bank", Project: "pay"}}}}
	retry := func(c platform.Caller, step string) (pipeline.Run, error) {
		var r pipeline.Run
		err := e.p.DB.InTx(t.Context(), func(tx platform.Tx) (err error) {
			r, err = e.p.RetryRun(t.Context(), tx, c, k, step, "the build host was short of memory")
			return err
		})
		return r, err
	}
	if _, err := retry(bob, pipeline.StepPush); !strings.Contains(fmt.Sprint(err), "step:") {
		t.Errorf("a retry from a step after the failed one: %v, want an error naming step", err)
	}
	if _, err := retry(bob, ""); err != nil {
		t.Fatal(err)
	}
	done := e.waitFor(t, 1, pipeline.Succeeded)
	if f.builds != 2 || done.Version != "r1-bbbbbbb" {
		t.Errorf("%d builds, version %q; want 2 builds and version r1-bbbbbbb", f.builds, done.Version)
	}
	for _, name := range []string{pipeline.StepClone, pipeline.StepBuild, pipeline.StepPush, pipeline.StepVersion} {
		if st, _ := done.Step(name); st.State != pipeline.Succeeded || st.Attempt != 1 {
			t.Errorf("step %s is %s at attempt %d, want succeeded at attempt 1", name, st.State, st.Attempt)
		}
	}
	last := done.Decisions[len(done.Decisions)-1]
	if last.Verdict != pipeline.Retry || last.By != "bob" || last.Stage != pipeline.StepClone {
		t.Errorf("decisions %+v, want bob's retry from clone", done.Decisions)
	}
	var recs []audit.Record
	if err := e.p.DB.View(t.Context(), func(tx platform.Tx) (err error) {
		recs, err = tx.ListAudit(t.Context(), audit.Query{Filter: audit.Filter{Action: "pipeline.retry"}, Limit: 10})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Actor != "bob" || !strings.Contains(recs[0].Summary, "go build exited with 2") {
		t.Errorf("audit records %+v, want bob's retry naming the failure", recs)
	}
	var refused *resource.RefusedError
	if _, err := retry(bob, ""); !errors.As(err, &refused) || !strings.Contains(err.Error(), "only a run failed") {
		t.Errorf("retrying a succeeded run: %v, want it refused", err)
	}
}

// pending returns the undelivered notifications of event, oldest first.
func (e *runnerEnv) pending(t *testing.T, event string) []notify.Message {
	t.Helper()
	var ms []notify.Message
	if err := e.p.DB.View(t.Context(), func(tx platform.Tx) (err error) {
		ms, err = tx.PendingNotifications(t.Context(), 100)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var out []notify.Message
	for _, m := range ms {
		if m.Event == event {
			out = append(out, m)
		}
	}
	return out
}

// TestRunnerNotifiesAWaitingStageAndAFailure: a run parked at a stage
// that needs an approval puts one notification in the outbox naming the
// stage and who may approve it; a failed build puts one naming the
// failure with its log's end, and a rejected stage one with the reason.
func TestRunnerNotifiesAWaitingStageAndAFailure(t *testing.T) {
	t.Parallel()
	f := &flaky{}
	e := newRunnerEnvOn(t, 0, f)
	k := pipeline.Key{Tenant: "bank", Project: "pay", Name: "ci"}
	e.run(t)
	e.trigger(t)
	e.waitFor(t, 1, pipeline.Failed)
	failed := e.pending(t, "pipeline.failed")
	if len(failed) != 1 || !strings.Contains(failed[0].Title, "run 1 failed") || !strings.Contains(failed[0].Title, "运行失败") ||
		!strings.Contains(failed[0].Text, "go build exited with 2") || !strings.Contains(failed[0].Text, "out of memory") {
		t.Fatalf("failure notifications %+v", failed)
	}
	if err := e.p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		pl, err := tx.GetPipeline(t.Context(), k)
		if err != nil {
			return err
		}
		pl.Stages = []pipeline.Stage{{Name: "prod", Owner: pipeline.Owner{Group: authz.ReleaseManager}, Approval: pipeline.ApprovalRequired}}
		_, err = e.p.ApplyPipeline(t.Context(), tx, e.admin, pl, false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.trigger(t)
	e.waitFor(t, 2, pipeline.Waiting)
	waiting := e.pending(t, "pipeline.waiting")
	if len(waiting) != 1 || !strings.Contains(waiting[0].Title, "run 2 waits for an approval of stage prod") ||
		!strings.Contains(waiting[0].Text, "group release-manager") {
		t.Fatalf("waiting notifications %+v", waiting)
	}
	rita := platform.Caller{Actor: audit.Actor{User: "rita"}, Bindings: []authz.Binding{{Role: authz.ReleaseManager, Scope: authz.Scope{Tenant: "bank", Project: "pay"}}}}
	if err := e.p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := e.p.RejectStage(t.Context(), tx, rita, pipeline.RunKey{Key: k, Number: 2}, "prod", "change freeze")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	failed = e.pending(t, "pipeline.failed")
	if len(failed) != 2 || !strings.Contains(failed[1].Text, "rejected by rita: change freeze") {
		t.Fatalf("failure notifications after the rejection %+v", failed)
	}
}

// TestABuildWaitsForItsProjectsQuota: with room in the project's quota
// for one build's CPU, a second build stays queued while the first runs,
// its message giving the numbers, and starts when the first ends; the
// project's concurrency limit (5) is not what holds it.
func TestABuildWaitsForItsProjectsQuota(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t, 0)
	e.r.Limit = 5
	ctx, a := t.Context(), e.admin.Actor
	if err := e.p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := e.p.Tenancy.SetQuota(ctx, tx, a, tenancy.Quota{Scope: tenancy.Scope{Tenant: "bank"},
			Hard: resource.List{resource.CPU: resource.Units(8)}}); err != nil {
			return err
		}
		_, err := e.p.Tenancy.SetQuota(ctx, tx, a, tenancy.Quota{Scope: tenancy.Scope{Tenant: "bank", Project: "pay"},
			Hard: resource.List{resource.CPU: resource.MilliUnits(1500)}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.trigger(t)
	e.trigger(t)
	e.run(t)
	if n := started(t, e.g); n != 1 {
		t.Fatalf("run %d built first", n)
	}
	deadline := time.Now().Add(time.Minute)
	for r := e.get(t, 2); r.Message == ""; r = e.get(t, 2) {
		if time.Now().After(deadline) {
			t.Fatalf("run 2 is %s without a message while run 1 holds the project's CPU", r.State)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r2 := e.get(t, 2)
	want := "waiting for quota: quota exceeded in project bank/pay: cpu requested 1, used 1, limit 1500m"
	if r2.State != pipeline.Queued || !strings.HasPrefix(r2.Message, want) {
		t.Fatalf("run 2 is %s: %q, want queued: %q…", r2.State, r2.Message, want)
	}
	close(e.g.ch(1))
	e.waitFor(t, 1, pipeline.Succeeded)
	if n := started(t, e.g); n != 2 {
		t.Fatalf("run %d built second", n)
	}
	close(e.g.ch(2))
	if r := e.waitFor(t, 2, pipeline.Succeeded); r.Message != "version r2-aaaaaaa delivered" {
		t.Errorf("run 2 ended with %q", r.Message)
	}
}
