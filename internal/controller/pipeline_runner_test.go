package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

// gate is an executor whose builds wait until released or stopped: the
// leaf the runner's tests hold still. started hears each build's run.
type gate struct {
	started chan int64
	mu      sync.Mutex
	release map[int64]chan struct{}
}

func newGate() *gate { return &gate{started: make(chan int64, 10), release: map[int64]chan struct{}{}} }

func (g *gate) ch(n int64) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release[n] == nil {
		g.release[n] = make(chan struct{})
	}
	return g.release[n]
}

func (g *gate) Build(ctx context.Context, job pipeline.Job, steps pipeline.Steps) (pipeline.Artifact, error) {
	for _, s := range []string{pipeline.StepClone, pipeline.StepBuild} {
		fmt.Fprintf(steps.Begin(s), "%s of run %d\n", s, job.Run.Number)
		if s == pipeline.StepBuild {
			g.started <- job.Run.Number
			select {
			case <-ctx.Done():
				steps.End(s, ctx.Err())
				return pipeline.Artifact{}, ctx.Err()
			case <-g.ch(job.Run.Number):
			}
		}
		steps.End(s, nil)
	}
	_ = steps.Begin(pipeline.StepPush)
	steps.End(pipeline.StepPush, nil)
	return pipeline.Artifact{Image: job.Image, Digest: "sha256:" + strings.Repeat("c", 64), Commit: strings.Repeat("a", 40)}, nil
}

type runnerEnv struct {
	p     *platform.Platform
	admin platform.Caller
	g     *gate
	r     *controller.PipelineRunner
}

func newRunnerEnv(t *testing.T, timeout time.Duration) *runnerEnv {
	t.Helper()
	g := newGate()
	e := newRunnerEnvOn(t, timeout, g)
	e.g = g
	return e
}

// newRunnerEnvOn is a runner building on exec.
func newRunnerEnvOn(t *testing.T, timeout time.Duration, exec pipeline.Executor) *runnerEnv {
	t.Helper()
	st, err := store.Open(t.Context(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	changes := change.NewBus()
	p, err := platform.New(st, platform.Options{Sealer: sealer, Changes: changes})
	if err != nil {
		t.Fatal(err)
	}
	if p.PipelineLogs, err = pipeline.NewLogs(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	e := &runnerEnv{p: p,
		admin: platform.Caller{Actor: audit.Actor{User: "ada"}, Bindings: []authz.Binding{{Role: authz.PlatformAdmin, Scope: authz.Platform}}}}
	ctx, a := t.Context(), e.admin.Actor
	if err := p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(ctx, tx, a, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateProject(ctx, tx, a, tenancy.Project{Tenant: "bank", Name: "pay"}); err != nil {
			return err
		}
		if _, err := p.Apps.CreateTier(ctx, tx, a, apps.Tier{Name: "small", Resources: apps.Resources{Requests: resource.List{resource.CPU: resource.MilliUnits(100), resource.Memory: resource.Units(128 << 20)}}}); err != nil {
			return err
		}
		if _, err := p.Apps.CreateApplication(ctx, tx, a, apps.Application{Tenant: "bank", Project: "pay", Name: "red-auth"}); err != nil {
			return err
		}
		_, err := p.ApplyPipeline(ctx, tx, e.admin, pipeline.Pipeline{Key: pipeline.Key{Tenant: "bank", Project: "pay", Name: "ci"}, Application: "red-auth",
			Source:   pipeline.Source{Repository: "https://git.example/red-auth.git"},
			Build:    pipeline.Build{Type: pipeline.Go, Package: ".", Image: "registry.example/bank/red-auth", Owner: pipeline.Owner{User: "dora"}},
			Delivery: pipeline.Delivery{Tier: "small"}, Timeout: resource.Duration{Duration: timeout},
			Webhook: pipeline.Webhook{Provider: pipeline.GitHub}}, false)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.r = controller.NewPipelineRunner(p.DB, p, exec, p.PipelineLogs, t.TempDir(), slog.New(slog.DiscardHandler))
	e.r.Limit = 1
	e.r.Subscribe(changes)
	return e
}

func (e *runnerEnv) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (e *runnerEnv) trigger(t *testing.T) pipeline.Run {
	t.Helper()
	var r pipeline.Run
	if err := e.p.DB.InTx(t.Context(), func(tx platform.Tx) (err error) {
		r, err = e.p.TriggerPipeline(t.Context(), tx, e.admin, pipeline.Key{Tenant: "bank", Project: "pay", Name: "ci"}, "refs/heads/main", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *runnerEnv) get(t *testing.T, n int64) pipeline.Run {
	t.Helper()
	var r pipeline.Run
	if err := e.p.DB.View(context.WithoutCancel(t.Context()), func(tx platform.Tx) (err error) {
		r, err = tx.GetRun(t.Context(), pipeline.RunKey{Key: pipeline.Key{Tenant: "bank", Project: "pay", Name: "ci"}, Number: n})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor polls run n until it is in state want (within three minutes:
// builds on the local cluster's Tekton take seconds on a loaded machine).
func (e *runnerEnv) waitFor(t *testing.T, n int64, want pipeline.State) pipeline.Run {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		r := e.get(t, n)
		if r.State == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d is %s (%s), want %s", n, r.State, r.Message, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func started(t *testing.T, g *gate) int64 {
	t.Helper()
	select {
	case n := <-g.started:
		return n
	case <-time.After(time.Minute):
		t.Fatal("no build started")
		return 0
	}
}

// A project builds at most Limit runs at once: the second run stays
// queued while the first builds, and starts when the first is cancelled,
// which stops its build and ends it cancelled, the step it broke too.
func TestRunnerKeepsTheProjectLimitAndCancelsARunningBuild(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t, 0)
	e.trigger(t)
	e.trigger(t)
	e.run(t)
	if n := started(t, e.g); n != 1 {
		t.Fatalf("run %d built first", n)
	}
	if r := e.get(t, 2); r.State != pipeline.Queued {
		t.Fatalf("run 2 is %s while run 1 builds; the project's limit is 1", r.State)
	}
	if err := e.p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := e.p.CancelRun(t.Context(), tx, e.admin, pipeline.RunKey{Key: pipeline.Key{Tenant: "bank", Project: "pay", Name: "ci"}, Number: 1}, "wrong branch")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r1 := e.waitFor(t, 1, pipeline.Cancelled)
	if st, _ := r1.Step(pipeline.StepBuild); st.State != pipeline.Cancelled {
		t.Errorf("the interrupted build step is %s", st.State)
	}
	if st, _ := r1.Step(pipeline.StepClone); st.State != pipeline.Succeeded || !strings.Contains(st.LogTail, "clone of run 1") {
		t.Errorf("clone step %+v", st)
	}
	if n := started(t, e.g); n != 2 {
		t.Fatalf("run %d built after the cancellation, want 2", n)
	}
	close(e.g.ch(2))
	r2 := e.waitFor(t, 2, pipeline.Succeeded)
	if r2.Version != "r2-aaaaaaa" || r2.Digest != "sha256:"+strings.Repeat("c", 64) {
		t.Errorf("run 2 delivered %q at %q", r2.Version, r2.Digest)
	}
}

// A build past its run's deadline is stopped and the run fails saying so.
func TestRunnerFailsARunPastItsDeadline(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t, 300*time.Millisecond)
	e.trigger(t)
	e.run(t)
	started(t, e.g)
	r := e.waitFor(t, 1, pipeline.Failed)
	if !strings.Contains(r.Message, "deadline") {
		t.Errorf("run failed with %q", r.Message)
	}
}

// A run left running by a process that stopped is failed at the next
// start (or by the next leader), not resumed half-way, saying how to run
// it again.
func TestRunnerFailsRunsInterruptedByARestart(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t, 0)
	r := e.trigger(t)
	if err := e.p.DB.InTx(t.Context(), func(tx platform.Tx) error {
		_, err := e.p.Pipelines.Start(t.Context(), tx, r.RunKey)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	got := e.waitFor(t, 1, pipeline.Failed)
	for _, want := range []string{"executor lost", "stopped before its first step", "(run it again: berth pipeline run ci"} {
		if !strings.Contains(got.Message, want) {
			t.Errorf("run failed with %q; want it to say %q", got.Message, want)
		}
	}
}

// However many projects have room, one runner builds at most MaxRuns at once.
func TestRunnerKeepsItsOwnLimit(t *testing.T) {
	t.Parallel()
	e := newRunnerEnv(t, 0)
	e.r.Limit, e.r.MaxRuns = 5, 1
	e.trigger(t)
	e.trigger(t)
	e.run(t)
	if n := started(t, e.g); n != 1 {
		t.Fatalf("run %d built first", n)
	}
	if r := e.get(t, 2); r.State != pipeline.Queued {
		t.Fatalf("run 2 is %s while run 1 builds; the runner's limit is 1", r.State)
	}
	close(e.g.ch(1))
	e.waitFor(t, 1, pipeline.Succeeded)
	if n := started(t, e.g); n != 2 {
		t.Fatalf("run %d built second", n)
	}
	close(e.g.ch(2))
	e.waitFor(t, 2, pipeline.Succeeded)
}
