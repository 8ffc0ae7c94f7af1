package pipeline

import (
	"context"
	"io"
)

// Executor runs the steps of a build that happen outside Berth: clone the
// commit, build the image, push it. The local executor runs them as
// processes on Berth's machine (package pipeline/local); a Tekton one
// will run them as a TaskRun on a cluster. Berth itself creates the
// version and walks the stages, whichever executor built.
type Executor interface {
	// Build runs StepClone, StepBuild and StepPush of job in that order,
	// announcing each to steps, and returns what it pushed. It stops at
	// the first failing step (returning its error) or when ctx ends.
	Build(ctx context.Context, job Job, steps Steps) (Artifact, error)
}

// Job is what one build needs.
type Job struct {
	Run        RunKey
	Repository string
	// Ref is the branch ref to clone; Commit the commit to check out
	// (empty: the branch's head).
	Ref    string
	Commit string
	Build  Build
	// Image is the reference to push: Build.Image + ":" + the run's tag.
	Image string
	// WorkDir is an empty directory of this run's, removed after it;
	// CacheDir is kept between the runs of one application (the Go build
	// cache, and later Maven's and npm's).
	WorkDir  string
	CacheDir string
	// Labels are put on the image (OCI annotations: source, revision).
	Labels map[string]string
}

// Artifact is a pushed image.
type Artifact struct {
	// Image is the pushed "repository:tag", Digest what the registry
	// stores it under ("sha256:…").
	Image  string
	Digest string
	// Commit is the commit that was built.
	Commit string
}

// Steps hears of a build's steps: Begin before each, with the writer its
// log goes to, End after it with its error (nil: succeeded).
type Steps interface {
	Begin(step string) io.Writer
	End(step string, err error)
}
