package audit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
)

// DefaultRetention is how long records are kept unless configured.
const DefaultRetention = 180 * 24 * time.Hour

// Service lists, exports, verifies and prunes the trail. Appending is
// [Append], called by the services that make changes.
type Service struct {
	clock     clock.Clock
	retention time.Duration
}

// NewService returns a Service; retention 0 means DefaultRetention.
func NewService(c clock.Clock, retention time.Duration) *Service {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Service{clock: c, retention: retention}
}

// Retention returns how long records are kept.
func (s *Service) Retention() time.Duration { return s.retention }

func validateFilter(f Filter) error {
	var errs resource.Errors
	errs.CheckLen("actor", f.Actor, 253)
	errs.CheckLen("tenant", f.Tenant, 63)
	errs.CheckLen("action", f.Action, 100)
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		errs.Add("until", "must be after since")
	}
	return errs.Err()
}

// List returns a page of the records matching f, newest first.
func (s *Service) List(ctx context.Context, st Reader, f Filter, o resource.ListOptions) (resource.Page[Record], error) {
	if err := validateFilter(f); err != nil {
		return resource.Page[Record]{}, err
	}
	key, err := o.After()
	if err != nil {
		return resource.Page[Record]{}, err
	}
	var after int64
	if key != "" {
		if after, err = strconv.ParseInt(key, 10, 64); err != nil || after <= 0 {
			return resource.Page[Record]{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "continue", Reason: "malformed continue token"}}}
		}
	}
	limit := o.PageLimit()
	recs, err := st.ListAudit(ctx, Query{Filter: f, After: after, Desc: true, Limit: limit + 1})
	if err != nil {
		return resource.Page[Record]{}, fmt.Errorf("list audit records: %w", err)
	}
	return resource.NewPage(recs, limit, func(r Record) string { return strconv.FormatInt(r.Seq, 10) }), nil
}

// Each calls fn for every record matching f, oldest first, reading in
// batches; it stops at fn's first error.
func (s *Service) Each(ctx context.Context, st Reader, f Filter, fn func(Record) error) error {
	if err := validateFilter(f); err != nil {
		return err
	}
	var after int64
	for {
		recs, err := st.ListAudit(ctx, Query{Filter: f, After: after, Limit: batch})
		if err != nil {
			return fmt.Errorf("read audit records after %d: %w", after, err)
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) < batch {
			return nil
		}
		after = recs[len(recs)-1].Seq
	}
}

const batch = 5000

// Prune deletes the records older than the retention period, keeping the
// chain verifiable: the hash of the last deleted record becomes the chain's
// base. It records "audit.prune" naming the new base, without which
// Verify refuses a moved base, and returns how many records it deleted.
func (s *Service) Prune(ctx context.Context, st Store, a Actor) (int64, error) {
	now := s.clock.Now()
	cutoff := now.Add(-s.retention)
	chain, err := st.LockAuditChain(ctx)
	if err != nil {
		return 0, fmt.Errorf("lock audit chain: %w", err)
	}
	first, ok, err := st.FirstAuditSince(ctx, cutoff)
	if err != nil {
		return 0, fmt.Errorf("find audit records since %s: %w", cutoff.Format(time.RFC3339), err)
	}
	through := chain.HeadSeq // every record is older than the cutoff
	if ok {
		through = first - 1
	}
	if through <= chain.BaseSeq {
		return 0, nil
	}
	last, err := st.ListAudit(ctx, Query{After: through + 1, Desc: true, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("read audit record %d: %w", through, err)
	}
	if len(last) == 0 || last[0].Seq != through {
		return 0, fmt.Errorf("read audit record %d: %w", through, resource.ErrNotFound)
	}
	n, err := st.PruneAudit(ctx, through, last[0].Hash)
	if err != nil {
		return 0, fmt.Errorf("prune audit records through %d: %w", through, err)
	}
	_, err = Append(ctx, st, now, a, Event{Action: "audit.prune", Target: "audit",
		Summary: pruneSummary(n, cutoff.UTC().Format(time.RFC3339), Anchor{Seq: through, Hash: last[0].Hash})})
	return n, err
}
