package pipeline

import (
	"context"
	"slices"
	"time"

	"berth.dev/berth/internal/resource"
)

// BuildRequests is what one running build of type t holds of its
// project's (and tenant's) quota while its clone, build and push steps
// run: what the build tools need on their machine (a JVM and Maven, or
// buildah's copy of the image, take more memory than a go or npm build).
// The caller may keep the list.
func BuildRequests(t BuildType) resource.List {
	mem := int64(1 << 30)
	if t == Maven || t == Dockerfile {
		mem = 2 << 30
	}
	return resource.List{resource.CPU: resource.Units(1), resource.Memory: resource.Units(mem)}
}

// Building reports whether r is at one of the executor's steps (clone,
// build, push): what holds quota while the run is running.
func (r *Run) Building() bool {
	next := r.Next()
	return next != nil && slices.Contains([]string{StepClone, StepBuild, StepPush}, next.Name)
}

// Hold keeps queued run k queued with msg (why it cannot start: its
// project's quota); nothing is written when msg is the run's message
// already.
func (s *Service) Hold(ctx context.Context, tx Tx, k RunKey, msg string) (Run, error) {
	r, err := tx.GetRun(ctx, k)
	if err != nil || r.Message == msg || r.State != Queued {
		return r, err
	}
	return s.update(ctx, tx, k, func(r *Run, _ time.Time) (string, string, error) {
		r.Message = msg
		return "", "", nil
	})
}
