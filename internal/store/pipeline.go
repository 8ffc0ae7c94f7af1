package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/resource"
)

var (
	pipelinesT    = table{name: "pipelines", keys: []string{"tenant", "project", "name"}, extra: []string{"application"}}
	pipelineRunsT = table{name: "pipeline_runs", keys: []string{"tenant", "project", "pipeline", "num"}, extra: []string{"state"}}
)

var _ pipeline.Store = (*Tx)(nil)

func pipelineKeys(k pipeline.Key) []any { return []any{k.Tenant, k.Project, k.Name} }

// CreatePipeline implements pipeline.Store.
func (tx *Tx) CreatePipeline(ctx context.Context, p pipeline.Pipeline) error {
	return tx.insert(ctx, pipelinesT, pipelineKeys(p.Key), []any{p.Application}, p.ResourceVersion, p)
}

// GetPipeline implements pipeline.Store.
func (tx *Tx) GetPipeline(ctx context.Context, k pipeline.Key) (p pipeline.Pipeline, err error) {
	return p, tx.get(ctx, pipelinesT, &p, pipelineKeys(k)...)
}

// UpdatePipeline implements pipeline.Store.
func (tx *Tx) UpdatePipeline(ctx context.Context, p pipeline.Pipeline, prevRV int64) error {
	return tx.update(ctx, pipelinesT, pipelineKeys(p.Key), []any{p.Application}, prevRV, p.ResourceVersion, p)
}

// DeletePipeline implements pipeline.Store.
func (tx *Tx) DeletePipeline(ctx context.Context, k pipeline.Key, prevRV int64) error {
	return tx.del(ctx, pipelinesT, pipelineKeys(k), prevRV)
}

// ListPipelines implements pipeline.Store.
func (tx *Tx) ListPipelines(ctx context.Context, tenant, project, after string, limit int) ([]pipeline.Pipeline, error) {
	return list[pipeline.Pipeline](ctx, tx, pipelinesT, []any{tenant, project}, after, limit)
}

func runKeys(k pipeline.RunKey) []any { return append(pipelineKeys(k.Key), k.Number) }

// CreateRun implements pipeline.Store.
func (tx *Tx) CreateRun(ctx context.Context, r pipeline.Run) error {
	return tx.insert(ctx, pipelineRunsT, runKeys(r.RunKey), []any{string(r.State)}, r.ResourceVersion, r)
}

// GetRun implements pipeline.Store.
func (tx *Tx) GetRun(ctx context.Context, k pipeline.RunKey) (r pipeline.Run, err error) {
	return r, tx.get(ctx, pipelineRunsT, &r, runKeys(k)...)
}

// UpdateRun implements pipeline.Store.
func (tx *Tx) UpdateRun(ctx context.Context, r pipeline.Run, prevRV int64) error {
	return tx.update(ctx, pipelineRunsT, runKeys(r.RunKey), []any{string(r.State)}, prevRV, r.ResourceVersion, r)
}

// ListRuns implements pipeline.Store.
func (tx *Tx) ListRuns(ctx context.Context, k pipeline.Key, before int64, limit int) ([]pipeline.Run, error) {
	if before <= 0 {
		before = 1 << 62
	}
	return scanBodies[pipeline.Run](ctx, tx, pipelineRunsT,
		"SELECT body FROM pipeline_runs WHERE tenant = ? AND project = ? AND pipeline = ? AND num < ? ORDER BY num DESC LIMIT ?",
		append(pipelineKeys(k), before, limit)...)
}

// LastRunNumber implements pipeline.Store.
func (tx *Tx) LastRunNumber(ctx context.Context, k pipeline.Key) (int64, error) {
	var n sql.NullInt64
	err := tx.queryRow(ctx, "SELECT MAX(num) FROM pipeline_runs WHERE tenant = ? AND project = ? AND pipeline = ?", pipelineKeys(k)...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n.Int64, tx.d.translate(err)
}

// RunsInState implements pipeline.Store.
func (tx *Tx) RunsInState(ctx context.Context, s pipeline.State, limit int) ([]pipeline.Run, error) {
	return scanBodies[pipeline.Run](ctx, tx, pipelineRunsT,
		"SELECT body FROM pipeline_runs WHERE state = ? ORDER BY tenant, project, pipeline, num LIMIT ?", string(s), limit)
}

// CountRunsInState implements pipeline.Store.
func (tx *Tx) CountRunsInState(ctx context.Context, tenant, project string, s pipeline.State) (int, error) {
	var n int
	err := tx.queryRow(ctx, "SELECT COUNT(*) FROM pipeline_runs WHERE state = ? AND tenant = ? AND project = ?", string(s), tenant, project).Scan(&n)
	return n, tx.d.translate(err)
}

// RecordDelivery implements pipeline.Store.
func (tx *Tx) RecordDelivery(ctx context.Context, k pipeline.Key, id string, at time.Time) error {
	res, err := tx.exec(ctx, "INSERT INTO pipeline_deliveries (tenant, project, pipeline, delivery, received) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		k.Tenant, k.Project, k.Name, id, at.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return notFound(tx, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return resource.ErrAlreadyExists
	}
	return nil
}
