package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// MaxPipelineRuns is how many runs one runner builds at once by default.
const MaxPipelineRuns = 8

// PipelineResync is how often the runner looks for queued runs and
// passed deadlines regardless of changes.
const PipelineResync = 5 * time.Second

// PipelineRunner takes queued pipeline runs and runs them: the build on an
// Executor, then the version and the stages through the application
// layer, each step's state written before and after it (with its log
// tail), a stage with a required approval parking the run until a person
// decides. It runs at most Limit runs of one project at once (the others
// stay queued), starts a build only when it fits its project's and
// tenant's quota beside what they use (the others stay queued, saying
// so), stops a run when someone cancels it or its deadline
// passes, and on start fails the runs a previous process left running.
type PipelineRunner struct {
	db       platform.Transactor // every transaction of the runner's
	p        *platform.Platform
	exec     pipeline.Executor
	logs     *pipeline.Logs
	log      *slog.Logger
	workDir  string
	cacheDir string
	// Limit is how many runs of one project run at once; MaxRuns how many
	// run at once in all, so many projects cannot crowd the machine.
	Limit   int
	MaxRuns int

	wake chan struct{}
	mu   sync.Mutex
	runs map[pipeline.RunKey]context.CancelCauseFunc
	wg   sync.WaitGroup
}

// NewPipelineRunner returns a runner building with exec, its work and
// cache directories under dir, running its transactions on db (the
// leader's fenced transactor in a server: see internal/engine) with p's
// services.
func NewPipelineRunner(db platform.Transactor, p *platform.Platform, exec pipeline.Executor, logs *pipeline.Logs, dir string, log *slog.Logger) *PipelineRunner {
	return &PipelineRunner{db: db, p: p, exec: exec, logs: logs, log: log, workDir: filepath.Join(dir, "work"), cacheDir: filepath.Join(dir, "cache"),
		Limit: pipeline.DefaultConcurrency, MaxRuns: MaxPipelineRuns, wake: make(chan struct{}, 1), runs: map[pipeline.RunKey]context.CancelCauseFunc{}}
}

// Subscribe wakes the runner on every committed change of a run.
func (r *PipelineRunner) Subscribe(b *change.Bus) {
	b.Subscribe(func(change.Changed) { r.poke() }, change.Pipeline)
}

func (r *PipelineRunner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

var (
	errCancelled = errors.New("cancelled")
	errDeadline  = errors.New("deadline passed")
)

// Run runs until ctx ends, then waits for the runs it started to stop.
func (r *PipelineRunner) Run(ctx context.Context) {
	defer r.wg.Wait()
	r.failInterrupted(ctx)
	t := time.NewTicker(PipelineResync)
	defer t.Stop()
	for {
		r.schedule(ctx)
		r.checkRunning(ctx)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-t.C:
		}
	}
}

// failInterrupted ends the runs left running by a process that stopped:
// this one before a restart, or the leader before this replica took over.
// Their builds ran on that process (their work directories, their
// executor's processes), so they fail, saying so, and are run again by a
// person (docs/pipelines.md, "When the server running a build stops").
func (r *PipelineRunner) failInterrupted(ctx context.Context) {
	var left []pipeline.Run
	_ = r.db.View(ctx, func(tx platform.Tx) (err error) {
		left, err = tx.RunsInState(ctx, pipeline.Running, 1000)
		return err
	})
	for _, run := range left {
		r.finish(ctx, run.RunKey, pipeline.Failed, ExecutorLost(run))
	}
}

// ExecutorLost is the message of a run that ends failed because the
// server running it stopped: the step it was in, and the command that
// runs the same commit (or branch) again.
func ExecutorLost(run pipeline.Run) string {
	where := "before its first step"
	for _, s := range run.Steps {
		if s.State == pipeline.Running {
			where = "during step " + s.Name
			break
		}
		if s.State.Ended() {
			where = "between two steps"
		}
	}
	again := "berth pipeline run " + run.Name
	switch branch, isBranch := strings.CutPrefix(run.Ref, "refs/heads/"); {
	case run.Commit != "":
		again += " --commit " + run.Commit
	case isBranch:
		again += " --branch " + branch
	}
	return fmt.Sprintf("executor lost: the Berth server running this run stopped %s, before it ended (run it again: %s)", where, again)
}

// schedule starts queued runs while their projects have room.
func (r *PipelineRunner) schedule(ctx context.Context) {
	var queued []pipeline.Run
	if err := r.db.View(ctx, func(tx platform.Tx) (err error) {
		queued, err = tx.RunsInState(ctx, pipeline.Queued, 200)
		return err
	}); err != nil {
		if ctx.Err() == nil {
			r.log.Error("list queued pipeline runs", "err", err)
		}
		return
	}
	for _, q := range queued {
		r.mu.Lock()
		full := len(r.runs) >= r.MaxRuns
		r.mu.Unlock()
		if full {
			return
		}
		var run pipeline.Run
		err := r.db.InTx(ctx, func(tx platform.Tx) error {
			n, err := tx.CountRunsInState(ctx, q.Tenant, q.Project, pipeline.Running)
			if err != nil || n >= r.Limit {
				return err
			}
			if q.Building() {
				var quota *resource.QuotaExceededError
				if err := r.p.AdmitBuild(ctx, tx, q); errors.As(err, &quota) {
					// The run waits, queued, saying for what; it starts when
					// a build or an application frees the room.
					_, err = r.p.Pipelines.Hold(ctx, tx, q.RunKey, "waiting for quota: "+quota.Error())
					return err
				} else if err != nil {
					return err
				}
			}
			run, err = r.p.Pipelines.Start(ctx, tx, q.RunKey)
			return err
		})
		if err != nil {
			r.log.Error("start pipeline run", "run", q.Path(), "err", err)
			continue
		}
		if run.State != pipeline.Running {
			continue // the project is at its limit or out of quota
		}
		r.launch(ctx, run)
	}
}

func (r *PipelineRunner) launch(ctx context.Context, run pipeline.Run) {
	deadline := time.Now().Add(run.Spec.TimeoutOrDefault())
	if run.Deadline != nil {
		deadline = *run.Deadline
	}
	rctx, cancel := context.WithCancelCause(ctx)
	rctx, stop := context.WithDeadlineCause(rctx, deadline, errDeadline)
	r.mu.Lock()
	r.runs[run.RunKey] = cancel
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer stop()
		defer func() {
			r.mu.Lock()
			delete(r.runs, run.RunKey)
			r.mu.Unlock()
			cancel(nil)
			r.poke() // room for the next queued run
		}()
		r.execute(rctx, ctx, run)
	}()
}

// checkRunning cancels the runs someone asked to cancel.
func (r *PipelineRunner) checkRunning(ctx context.Context) {
	r.mu.Lock()
	keys := make([]pipeline.RunKey, 0, len(r.runs))
	for k := range r.runs {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	for _, k := range keys {
		var run pipeline.Run
		if err := r.db.View(ctx, func(tx platform.Tx) (err error) {
			run, err = tx.GetRun(ctx, k)
			return err
		}); err != nil || !run.CancelRequested {
			continue
		}
		r.mu.Lock()
		if cancel := r.runs[k]; cancel != nil {
			cancel(errCancelled)
		}
		r.mu.Unlock()
	}
}

// execute walks run's steps from the first not ended. rctx ends when the
// run is cancelled or its deadline passes; ctx when the runner stops.
func (r *PipelineRunner) execute(rctx, ctx context.Context, run pipeline.Run) {
	k := run.RunKey
	for {
		next := run.Next()
		if next == nil {
			r.finish(ctx, k, pipeline.Succeeded, "version "+run.Version+" delivered")
			return
		}
		var err error
		switch {
		case next.Name == pipeline.StepClone || next.Name == pipeline.StepBuild || next.Name == pipeline.StepPush:
			err = r.build(rctx, run)
		case next.Name == pipeline.StepVersion:
			err = r.deliver(rctx, run)
		default:
			var parked bool
			parked, err = r.stage(rctx, run, run.StageOf(next.Name))
			if parked {
				return
			}
		}
		if err != nil || rctx.Err() != nil {
			r.stopped(rctx, ctx, k, err)
			return
		}
		if err := r.db.View(ctx, func(tx platform.Tx) (err error) {
			run, err = tx.GetRun(ctx, k)
			return err
		}); err != nil {
			r.log.Error("read pipeline run", "run", k.Path(), "err", err)
			return
		}
		if run.State != pipeline.Running {
			return
		}
	}
}

// stopped ends run k after a step failed (the step's failure already ended
// it) or rctx ended: cancelled or past its deadline.
func (r *PipelineRunner) stopped(rctx, ctx context.Context, k pipeline.RunKey, err error) {
	switch cause := context.Cause(rctx); {
	case errors.Is(cause, errCancelled):
		r.finish(ctx, k, pipeline.Cancelled, "cancelled while running")
	case errors.Is(cause, errDeadline):
		r.finish(ctx, k, pipeline.Failed, "the deadline passed")
	case ctx.Err() != nil:
		// The runner stops; failInterrupted ends the run at the next start.
	case err != nil:
		r.log.Info("pipeline run failed", "run", k.Path(), "err", err)
	}
}

func (r *PipelineRunner) finish(ctx context.Context, k pipeline.RunKey, st pipeline.State, msg string) {
	ctx = context.WithoutCancel(ctx)
	err := r.db.InTx(ctx, func(tx platform.Tx) error {
		run, err := tx.GetRun(ctx, k)
		if err != nil || run.State.Ended() {
			return err
		}
		_, err = r.p.Pipelines.Finish(ctx, tx, k, st, msg)
		return err
	})
	if err != nil {
		r.log.Error("end pipeline run", "run", k.Path(), "err", err)
	}
}

// build runs the clone, build and push steps on the executor.
func (r *PipelineRunner) build(ctx context.Context, run pipeline.Run) error {
	k := run.RunKey
	work := filepath.Join(r.workDir, k.Tenant, k.Project, k.Name, strconv.FormatInt(k.Number, 10))
	if err := os.MkdirAll(work, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	job := pipeline.Job{Run: k, Repository: run.Spec.Source.Repository, Ref: run.Ref, Commit: run.Commit, Build: run.Spec.Build,
		Image: run.Spec.Build.Image + ":" + run.Tag(), WorkDir: work,
		CacheDir: filepath.Join(r.cacheDir, k.Tenant, k.Project, run.Spec.Application),
		Labels:   map[string]string{"dev.berth.pipeline.run": k.Path()}}
	steps := &stepSink{r: r, k: k, ctx: ctx}
	art, err := r.exec.Build(ctx, job, steps)
	if err != nil {
		return err
	}
	if run.Commit == "" { // the image is tagged by the commit it built
		run.Commit = art.Commit
	}
	return r.db.InTx(context.WithoutCancel(ctx), func(tx platform.Tx) error {
		_, err := r.p.Pipelines.Built(ctx, tx, k, art.Commit, art)
		return err
	})
}

// deliver creates the application version of the pushed image.
func (r *PipelineRunner) deliver(ctx context.Context, run pipeline.Run) error {
	return r.step(ctx, run.RunKey, pipeline.StepVersion, func(tx platform.Tx, log io.Writer) (string, error) {
		v, err := r.p.DeliverVersion(ctx, tx, run)
		if err != nil {
			return "", err
		}
		if _, err := r.p.Pipelines.Delivered(ctx, tx, run.RunKey, v.Name); err != nil {
			return "", err
		}
		msg := fmt.Sprintf("version %s of %s: %s@%s from %s", v.Name, v.Application, v.Image, v.Digest, v.Source.Revision)
		fmt.Fprintln(log, msg)
		return msg, nil
	})
}

// stage runs one stage: parks the run when it awaits an approval,
// otherwise deploys the version where the stage says.
func (r *PipelineRunner) stage(ctx context.Context, run pipeline.Run, st pipeline.Stage) (parked bool, err error) {
	if st.Approval == pipeline.ApprovalRequired && !run.Approved(st.Name) {
		err := r.db.InTx(context.WithoutCancel(ctx), func(tx platform.Tx) error {
			_, err := r.p.Pipelines.Wait(ctx, tx, run.RunKey, st.Name)
			return err
		})
		return true, err
	}
	return false, r.step(ctx, run.RunKey, st.Name, func(tx platform.Tx, log io.Writer) (string, error) {
		if st.Environment == "" {
			msg := "stage " + st.Name + " passed"
			fmt.Fprintln(log, msg)
			return msg, nil
		}
		d, err := r.p.DeployStage(ctx, tx, run, st)
		if err != nil {
			return "", err
		}
		msg := fmt.Sprintf("deployed %s %s to %s", d.Application, d.Version, st.Environment)
		fmt.Fprintln(log, msg)
		return msg, nil
	})
}

// step runs fn as one step of Berth's own, in a transaction that also
// ends the step; a failure of fn ends the step failed in a transaction of
// its own.
func (r *PipelineRunner) step(ctx context.Context, k pipeline.RunKey, name string, fn func(tx platform.Tx, log io.Writer) (string, error)) error {
	sink := &stepSink{r: r, k: k, ctx: ctx}
	log := sink.Begin(name)
	var msg string
	err := r.db.InTx(ctx, func(tx platform.Tx) (err error) {
		msg, err = fn(tx, log)
		return err
	})
	if err != nil {
		fmt.Fprintln(log, "error:", err)
	}
	sink.end(name, err, msg)
	return err
}

// stepSink writes the steps' states and logs; it implements
// pipeline.Steps for executors.
type stepSink struct {
	r   *PipelineRunner
	k   pipeline.RunKey
	ctx context.Context // the run's: cancelled or past its deadline

	mu      sync.Mutex
	writers map[string]*pipeline.LogWriter
}

func (s *stepSink) Begin(step string) io.Writer {
	ctx := context.Background()
	if err := s.r.db.InTx(ctx, func(tx platform.Tx) error {
		_, err := s.r.p.Pipelines.BeginStep(ctx, tx, s.k, step)
		return err
	}); err != nil {
		s.r.log.Error("begin pipeline step", "run", s.k.Path(), "step", step, "err", err)
	}
	w, err := s.r.logs.Create(s.k, step)
	if err != nil {
		s.r.log.Error("create pipeline step log", "run", s.k.Path(), "step", step, "err", err)
		return io.Discard
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writers == nil {
		s.writers = map[string]*pipeline.LogWriter{}
	}
	s.writers[step] = w
	return w
}

func (s *stepSink) End(step string, err error) { s.end(step, err, "done") }

func (s *stepSink) end(step string, stepErr error, msg string) {
	s.mu.Lock()
	w := s.writers[step]
	delete(s.writers, step)
	s.mu.Unlock()
	var l pipeline.StepLog
	if w != nil {
		l.Bytes, l.Dropped, l.Tail = w.Close()
	}
	if stepErr != nil && s.ctx.Err() != nil {
		// Cancelled or past its deadline: the run ends so, not failed by
		// the step the interruption broke.
		st, why := pipeline.Failed, "the deadline passed during step "+step
		if errors.Is(context.Cause(s.ctx), errCancelled) {
			st, why = pipeline.Cancelled, "cancelled during step "+step
		}
		s.r.finish(s.ctx, s.k, st, why)
		return
	}
	ctx := context.Background()
	if err := s.r.db.InTx(ctx, func(tx platform.Tx) error {
		_, err := s.r.p.Pipelines.EndStep(ctx, tx, s.k, step, stepErr, msg, l)
		return err
	}); err != nil {
		s.r.log.Error("end pipeline step", "run", s.k.Path(), "step", step, "err", err)
	}
}
