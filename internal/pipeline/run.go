package pipeline

import (
	"fmt"
	"strconv"
	"time"
)

// State is the state of a run or of one of its steps.
type State string

// The states. A run is queued until the runner takes it, running while a
// step runs, waiting while a stage awaits its approval, and ends
// succeeded, failed (a step failed, the deadline passed, or a stage was
// rejected) or cancelled. A step is pending until it runs; skipped when
// the run ended before it.
const (
	Queued    State = "queued"
	Running   State = "running"
	Waiting   State = "waiting"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Cancelled State = "cancelled"
	Pending   State = "pending"
	Skipped   State = "skipped"
)

// Ended reports whether s is final.
func (s State) Ended() bool { return s == Succeeded || s == Failed || s == Cancelled || s == Skipped }

// BuildStage is the name of the first stage, the build; its steps are
// BuildSteps.
const BuildStage = "build"

// The steps of the build stage, in order: clone the pushed commit, build
// the image, push it, create the application version pinned by digest.
const (
	StepClone   = "clone"
	StepBuild   = "build"
	StepPush    = "push"
	StepVersion = "version"
)

// BuildSteps are the build stage's steps, in order.
func BuildSteps() []string { return []string{StepClone, StepBuild, StepPush, StepVersion} }

// RunKey names a run: its pipeline and its number there (1, 2, …).
type RunKey struct {
	Key
	Number int64 `json:"number"`
}

// Path is the run's resource path.
func (k RunKey) Path() string { return k.Key.Path() + "/runs/" + strconv.FormatInt(k.Number, 10) }

// Run is one execution of a pipeline.
type Run struct {
	RunKey
	// Spec is the pipeline as it was when the run was triggered.
	Spec    Pipeline `json:"spec"`
	Trigger Trigger  `json:"trigger"`
	// Ref and Commit are what is built: "refs/heads/main" and the full
	// commit hash.
	Ref    string `json:"ref"`
	Commit string `json:"commit"`
	State  State  `json:"state"`
	// Message says why the run ended as it did (or what it waits for).
	Message string `json:"message,omitempty"`
	Steps   []Step `json:"steps"`
	// Decisions are the approvals, rejections, retries and cancellation,
	// in order.
	Decisions []Decision `json:"decisions,omitempty"`
	// Image is the pushed reference "repo:tag", Digest its digest; Version
	// the application version made of it.
	Image   string `json:"image,omitempty"`
	Digest  string `json:"digest,omitempty"`
	Version string `json:"version,omitempty"`
	// CancelRequested is set when someone cancels a running run; the
	// runner stops its step and ends the run cancelled.
	CancelRequested bool       `json:"cancelRequested,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	StartedAt       *time.Time `json:"startedAt,omitempty"`
	EndedAt         *time.Time `json:"endedAt,omitempty"`
	// Deadline is when a started run fails for taking too long.
	Deadline        *time.Time `json:"deadline,omitempty"`
	ResourceVersion int64      `json:"resourceVersion"`
}

// Step is one step of a run.
type Step struct {
	Name  string `json:"name"`
	Stage string `json:"stage"`
	// Owner answers for the step's stage.
	Owner     Owner      `json:"owner"`
	State     State      `json:"state"`
	Message   string     `json:"message,omitempty"`
	StartedAt *time.Time `json:"startedAt,omitempty"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	// LogTail is the end of the step's log, kept with the run so a failed
	// step shows why even after the full log is gone.
	LogTail string `json:"logTail,omitempty"`
	// LogBytes is how much the step wrote; LogDropped how much of it the
	// bounded log did not keep.
	LogBytes   int64 `json:"logBytes,omitempty"`
	LogDropped int64 `json:"logDropped,omitempty"`
	// Attempt counts the retries that ran the step again (0: its first
	// run); the log is the last attempt's.
	Attempt int `json:"attempt,omitempty"`
}

// TriggerKind says how a run started.
type TriggerKind string

// The trigger kinds.
const (
	Manual TriggerKind = "manual"
	Push   TriggerKind = "push"
)

// Trigger is who started a run, and how.
type Trigger struct {
	Kind TriggerKind `json:"kind"`
	// User is the Berth user who ran it, or the pusher the webhook names
	// (their Git login, which Berth matches to user names).
	User string `json:"user"`
	// Provider and Delivery identify the webhook delivery.
	Provider Provider `json:"provider,omitempty"`
	Delivery string   `json:"delivery,omitempty"`
}

// Verdict is a decision's outcome.
type Verdict string

// The verdicts.
const (
	Approved Verdict = "approved"
	Rejected Verdict = "rejected"
	// Cancel: a person cancelled the run.
	Cancel Verdict = "cancelled"
	// Retry: a person retried the failed run from a step (the decision's
	// Stage names the step).
	Retry Verdict = "retried"
)

// Decision is a person's decision on a run.
type Decision struct {
	Stage   string    `json:"stage,omitempty"`
	Verdict Verdict   `json:"verdict"`
	By      string    `json:"by"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// plan returns the steps of a run of p: the build steps, then one step
// per stage named after it.
func plan(p Pipeline) []Step {
	var steps []Step
	for _, s := range BuildSteps() {
		steps = append(steps, Step{Name: s, Stage: BuildStage, Owner: p.Build.Owner, State: Pending})
	}
	for _, st := range p.Stages {
		steps = append(steps, Step{Name: st.Name, Stage: st.Name, Owner: st.Owner, State: Pending})
	}
	return steps
}

// Step returns the step named name and its index, -1 when there is none.
func (r *Run) Step(name string) (*Step, int) {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i], i
		}
	}
	return nil, -1
}

// Next returns the first step not ended, nil when all have.
func (r *Run) Next() *Step {
	for i := range r.Steps {
		if !r.Steps[i].State.Ended() {
			return &r.Steps[i]
		}
	}
	return nil
}

// StageOf returns the stage the step belongs to (the zero Stage for the
// build's steps).
func (r *Run) StageOf(step string) Stage {
	for _, s := range r.Spec.Stages {
		if s.Name == step {
			return s
		}
	}
	return Stage{}
}

// VersionName is the application version a run makes: "r<number>-<first
// seven characters of the commit>", a DNS label that sorts by run.
func (r *Run) VersionName() string {
	c := r.Commit
	if len(c) > 7 {
		c = c[:7]
	}
	return fmt.Sprintf("r%d-%s", r.Number, c)
}

// Tag is the image tag a run pushes: its version's name.
func (r *Run) Tag() string { return r.VersionName() }
