package configcenter

import (
	"context"
	"fmt"
	"slices"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/resource"
)

// Remove deletes k (its history stays), or proposes deleting it where
// required > 0 approvals are needed.
func (s *Service) Remove(ctx context.Context, st Tx, a audit.Actor, k Key, comment, ticket string, required int) (Revision, error) {
	it, err := st.GetConfigItem(ctx, k)
	if err != nil {
		return Revision{}, fmt.Errorf("config %s: %w", k.Name(), err)
	}
	r := Revision{Key: k, Op: OpDelete, Type: it.Type, Secret: it.Secret, Comment: comment, Ticket: ticket}
	if required > 0 {
		return s.record(ctx, st, a, it, true, r, "", required, nil)
	}
	return s.remove(ctx, st, a, it, r)
}

func (s *Service) remove(ctx context.Context, st Tx, a audit.Actor, it Item, r Revision) (Revision, error) {
	now := s.now()
	if r.Number == 0 {
		last, err := st.LastConfigRevision(ctx, it.Key)
		if err != nil {
			return Revision{}, fmt.Errorf("revisions of %s: %w", it.Name(), err)
		}
		r.Number, r.Author, r.Time, r.State, r.Decided = last+1, a.User, now, Published, now
		if err := s.supersede(ctx, st, &it, now); err != nil {
			return Revision{}, err
		}
		if err := st.CreateConfigRevision(ctx, r); err != nil {
			return Revision{}, fmt.Errorf("record revision %d of %s: %w", r.Number, r.Name(), err)
		}
	}
	if err := st.DeleteConfigItem(ctx, it.Key, it.ResourceVersion); err != nil {
		return Revision{}, fmt.Errorf("delete config %s: %w", it.Name(), err)
	}
	s.announce(st, it.Key)
	return r, s.audit(ctx, st, a, it.Key, "config.delete", fmt.Sprintf("deleted %s (revision %d, %s)", it.Name(), r.Number, describe(r)))
}

// Rollback publishes revision `to`'s content again as a new revision (or
// proposes it, where approvals are required).
func (s *Service) Rollback(ctx context.Context, st Tx, a audit.Actor, k Key, to int64, comment, ticket string, required int) (Revision, error) {
	it, err := st.GetConfigItem(ctx, k)
	if err != nil {
		return Revision{}, fmt.Errorf("config %s: %w", k.Name(), err)
	}
	old, err := st.GetConfigRevision(ctx, k, to)
	if err != nil {
		return Revision{}, fmt.Errorf("revision %d of %s: %w", to, k.Name(), err)
	}
	if old.Op == OpDelete {
		var errs resource.Errors
		errs.Add("revision", "revision %d deleted %s; roll back to a revision that published content", to, k.Name())
		return Revision{}, errs.Err()
	}
	content, err := s.open(k, old.Content, old.Sealed)
	if err != nil {
		return Revision{}, err
	}
	it.Type = old.Type
	r := Revision{Key: k, Op: OpRollback, From: to, Type: old.Type, Secret: it.Secret, Comment: comment, Ticket: ticket}
	return s.record(ctx, st, a, it, true, r, content, required, nil)
}

// Approve approves proposal n of k. The author may not approve it, nor
// anyone twice (four eyes); with required approvals it becomes current.
func (s *Service) Approve(ctx context.Context, st Tx, a audit.Actor, k Key, n int64, required int) (Revision, error) {
	it, r, err := s.proposal(ctx, st, k, n)
	if err != nil {
		return Revision{}, err
	}
	switch {
	case r.Author == a.User:
		return Revision{}, resource.Forbidden("%s proposed revision %d of %s and may not approve it: another person must (four eyes)", a.User, n, k.Name())
	case slices.Contains(r.Approvals, a.User):
		return Revision{}, resource.Refused("%s has approved revision %d of %s already", a.User, n, k.Name())
	}
	r.Approvals = append(r.Approvals, a.User)
	if len(r.Approvals) < max(required, 1) {
		if err := st.UpdateConfigRevision(ctx, r); err != nil {
			return Revision{}, fmt.Errorf("approve revision %d of %s: %w", n, k.Name(), err)
		}
		// Saving the item too serializes concurrent approvals (its version).
		if err := s.save(ctx, st, a, it, true, s.now()); err != nil {
			return Revision{}, err
		}
		return r, s.audit(ctx, st, a, k, "config.approve", fmt.Sprintf("approved revision %d of %s (%d of %d approvals)", n, k.Name(), len(r.Approvals), required))
	}
	now := s.now()
	r.State, r.Decided, it.Proposal = Published, now, 0
	if err := st.UpdateConfigRevision(ctx, r); err != nil {
		return Revision{}, fmt.Errorf("approve revision %d of %s: %w", n, k.Name(), err)
	}
	if err := s.audit(ctx, st, a, k, "config.approve", fmt.Sprintf("approved revision %d of %s (%d of %d approvals): it is current", n, k.Name(), len(r.Approvals), required)); err != nil {
		return Revision{}, err
	}
	if r.Op == OpDelete {
		return s.remove(ctx, st, a, it, r)
	}
	it.Type = r.Type
	s.makeCurrent(&it, r)
	return r, s.save(ctx, st, a, it, true, now)
}

// Reject refuses proposal n of k.
func (s *Service) Reject(ctx context.Context, st Tx, a audit.Actor, k Key, n int64, reason string) (Revision, error) {
	it, r, err := s.proposal(ctx, st, k, n)
	if err != nil {
		return Revision{}, err
	}
	var errs resource.Errors
	errs.CheckLen("reason", reason, MaxDescription)
	if err := errs.Err(); err != nil {
		return Revision{}, err
	}
	now := s.now()
	r.State, r.Decided, it.Proposal = Rejected, now, 0
	if err := st.UpdateConfigRevision(ctx, r); err != nil {
		return Revision{}, fmt.Errorf("reject revision %d of %s: %w", n, k.Name(), err)
	}
	if err := s.save(ctx, st, a, it, true, now); err != nil {
		return Revision{}, err
	}
	return r, s.audit(ctx, st, a, k, "config.reject", fmt.Sprintf("rejected revision %d of %s: %q", n, k.Name(), reason))
}

func (s *Service) proposal(ctx context.Context, st Tx, k Key, n int64) (Item, Revision, error) {
	it, err := st.GetConfigItem(ctx, k)
	if err != nil {
		return Item{}, Revision{}, fmt.Errorf("config %s: %w", k.Name(), err)
	}
	if it.Proposal == 0 || it.Proposal != n {
		return Item{}, Revision{}, resource.Refused("revision %d of %s is not awaiting approval (open proposal: %d)", n, k.Name(), it.Proposal)
	}
	r, err := st.GetConfigRevision(ctx, k, n)
	if err != nil {
		return Item{}, Revision{}, fmt.Errorf("revision %d of %s: %w", n, k.Name(), err)
	}
	return it, r, nil
}

// PromoteGray makes k's gray revision current for everyone.
func (s *Service) PromoteGray(ctx context.Context, st Tx, a audit.Actor, k Key) (Revision, error) {
	return s.endGray(ctx, st, a, k, true)
}

// AbortGray stops serving k's gray revision; its cohort gets the current
// one again.
func (s *Service) AbortGray(ctx context.Context, st Tx, a audit.Actor, k Key) (Revision, error) {
	return s.endGray(ctx, st, a, k, false)
}

func (s *Service) endGray(ctx context.Context, st Tx, a audit.Actor, k Key, promote bool) (Revision, error) {
	it, err := st.GetConfigItem(ctx, k)
	if err != nil {
		return Revision{}, fmt.Errorf("config %s: %w", k.Name(), err)
	}
	if it.Gray == nil {
		return Revision{}, resource.Refused("%s has no gray revision", k.Name())
	}
	r, err := st.GetConfigRevision(ctx, k, it.Gray.Revision)
	if err != nil {
		return Revision{}, fmt.Errorf("revision %d of %s: %w", it.Gray.Revision, k.Name(), err)
	}
	now := s.now()
	r.Decided, it.Gray = now, nil
	action := "config.abort"
	if promote {
		r.State, action = Published, "config.promote"
		s.makeCurrent(&it, r)
	} else {
		r.State = Rejected
	}
	if err := st.UpdateConfigRevision(ctx, r); err != nil {
		return Revision{}, fmt.Errorf("end gray revision %d of %s: %w", r.Number, k.Name(), err)
	}
	if err := s.save(ctx, st, a, it, true, now); err != nil {
		return Revision{}, err
	}
	return r, s.audit(ctx, st, a, k, action, fmt.Sprintf("%s gray revision %d of %s", action[len("config."):], r.Number, k.Name()))
}

// Get returns k with its current content opened. An item whose first
// revision awaits approval has no content yet: resource.ErrNotFound.
func (s *Service) Get(ctx context.Context, st Store, k Key) (Item, error) {
	it, err := st.GetConfigItem(ctx, k)
	if err != nil {
		return Item{}, fmt.Errorf("config %s: %w", k.Name(), err)
	}
	if it.Revision == 0 {
		return Item{}, fmt.Errorf("config %s has no published revision: %w", k.Name(), resource.ErrNotFound)
	}
	if it.Content, err = s.open(k, it.Content, it.Sealed); err != nil {
		return Item{}, err
	}
	it.Sealed = nil
	if it.Gray != nil {
		g := *it.Gray
		if g.Content, err = s.open(k, g.Content, g.Sealed); err != nil {
			return Item{}, err
		}
		g.Sealed, it.Gray = nil, &g
	}
	return it, nil
}

// Served is what a client is served of an item.
type Served struct {
	Type     Type
	Revision int64
	MD5      string
	Content  string
	// Gray says the client is in the gray revision's cohort.
	Gray bool
	// Secret says the item is secret (config:read-secret reads it).
	Secret bool
}

// Serve returns what client c is served of k: the gray revision when c is
// in its cohort, the current one otherwise.
func (s *Service) Serve(ctx context.Context, st Store, k Key, c Client) (Served, error) {
	it, err := s.Get(ctx, st, k)
	if err != nil {
		return Served{}, err
	}
	return serve(it, c), nil
}

// List lists an environment's items without their content.
func (s *Service) List(ctx context.Context, st Store, e Env, o resource.ListOptions) (resource.Page[Item], error) {
	after, err := o.After()
	if err != nil {
		return resource.Page[Item]{}, err
	}
	limit := o.PageLimit()
	items, err := st.ListConfigItems(ctx, e, after, limit+1)
	if err != nil {
		return resource.Page[Item]{}, fmt.Errorf("list configs of %s: %w", e.Namespace(), err)
	}
	for i := range items {
		items[i] = stripped(items[i])
	}
	return resource.NewPage(items, limit, func(it Item) string { return it.Name() }), nil
}

func stripped(it Item) Item {
	it.Content, it.Sealed = "", nil
	if it.Gray != nil {
		g := *it.Gray
		g.Content, g.Sealed = "", nil
		it.Gray = &g
	}
	return it
}

// History lists up to limit revisions of k below `before` (0: the
// newest), newest first, without their content.
func (s *Service) History(ctx context.Context, st Store, k Key, before int64, limit int) ([]Revision, error) {
	limit = min(max(limit, 1), 500)
	rs, err := st.ListConfigRevisions(ctx, k, before, limit)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", k.Name(), err)
	}
	for i := range rs {
		rs[i].Content, rs[i].Sealed = "", nil
	}
	return rs, nil
}

// Revision returns revision n of k with its content opened.
func (s *Service) Revision(ctx context.Context, st Store, k Key, n int64) (Revision, error) {
	r, err := st.GetConfigRevision(ctx, k, n)
	if err != nil {
		return Revision{}, fmt.Errorf("revision %d of %s: %w", n, k.Name(), err)
	}
	if r.Content, err = s.open(k, r.Content, r.Sealed); err != nil {
		return Revision{}, err
	}
	r.Sealed = nil
	return r, nil
}

// Diff returns the line differences from revision a to revision b of k.
func (s *Service) Diff(ctx context.Context, st Store, k Key, a, b int64) ([]Line, error) {
	ra, err := s.Revision(ctx, st, k, a)
	if err != nil {
		return nil, err
	}
	rb, err := s.Revision(ctx, st, k, b)
	if err != nil {
		return nil, err
	}
	return DiffLines(ra.Content, rb.Content), nil
}
