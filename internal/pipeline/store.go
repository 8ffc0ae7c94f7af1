package pipeline

import (
	"context"
	"time"

	"berth.dev/berth/internal/apps"
)

// Store is what pipelines need from persistence, bound to one
// transaction, with the conventions of tenancy.Store (resource sentinels,
// resourceVersion checks). It includes apps.Store: a pipeline belongs to
// an application and delivers its versions.
type Store interface {
	apps.Store

	CreatePipeline(ctx context.Context, p Pipeline) error
	GetPipeline(ctx context.Context, k Key) (Pipeline, error)
	UpdatePipeline(ctx context.Context, p Pipeline, prevRV int64) error
	// DeletePipeline deletes the pipeline with its runs and deliveries.
	DeletePipeline(ctx context.Context, k Key, prevRV int64) error
	ListPipelines(ctx context.Context, tenant, project, after string, limit int) ([]Pipeline, error)

	CreateRun(ctx context.Context, r Run) error
	GetRun(ctx context.Context, k RunKey) (Run, error)
	UpdateRun(ctx context.Context, r Run, prevRV int64) error
	// ListRuns lists k's runs newest first, numbered below before (all
	// when before <= 0).
	ListRuns(ctx context.Context, k Key, before int64, limit int) ([]Run, error)
	// LastRunNumber is the highest run number of k, 0 for none.
	LastRunNumber(ctx context.Context, k Key) (int64, error)
	// RunsInState lists up to limit runs of every pipeline in state s,
	// oldest first.
	RunsInState(ctx context.Context, s State, limit int) ([]Run, error)
	// CountRunsInState counts a project's runs in state s.
	CountRunsInState(ctx context.Context, tenant, project string, s State) (int, error)

	// RecordDelivery remembers webhook delivery id of k:
	// resource.ErrAlreadyExists when it was recorded before (a replay).
	RecordDelivery(ctx context.Context, k Key, id string, at time.Time) error
}
