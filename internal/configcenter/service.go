package configcenter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/resource"
)

// Sealer encrypts secret content at rest (package seal implements it).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

// Tx is the transaction-bound store the service writes through.
type Tx interface {
	Store
	audit.Writer
	change.Committer
}

// Service keeps configuration items and their revisions.
type Service struct {
	clock   clock.Clock
	sealer  Sealer
	changes *change.Bus
	cache   *cache
}

// NewService returns a service sealing secrets with s and announcing each
// change of what clients are served on changes (change.Config) after
// commit.
func NewService(c clock.Clock, s Sealer, changes *change.Bus) *Service {
	return &Service{clock: c, sealer: s, changes: changes, cache: newCache()}
}

// Change is a new content for an item.
type Change struct {
	Key
	// Type, Description, Tags and Secret set the item's; on an existing
	// item an empty Type keeps its type, and Description and Tags are kept
	// when nil.
	Type        Type
	Description *string
	Tags        []string
	Secret      bool
	Content     string
	Comment     string
	Ticket      string
	// CasMD5, when set, is the MD5 the item's current content must have
	// (compare and swap): resource.ErrConflict otherwise.
	CasMD5 string
	// Cohort, when set, publishes the revision to that cohort only (gray).
	Cohort *Cohort
}

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// Publish records ch as a new revision. With required > 0 approvals the
// revision is proposed and the item keeps its content until Approve;
// with a cohort it is served to that cohort only until PromoteGray.
func (s *Service) Publish(ctx context.Context, st Tx, a audit.Actor, ch Change, required int) (Revision, error) {
	it, exists, err := s.load(ctx, st, ch.Key)
	if err != nil {
		return Revision{}, err
	}
	if err := s.validate(ch, it, exists, required); err != nil {
		return Revision{}, err
	}
	if !exists {
		if err := s.checkRoom(ctx, st, ch.Env()); err != nil {
			return Revision{}, err
		}
	}
	if ch.CasMD5 != "" && ch.CasMD5 != it.MD5 {
		return Revision{}, fmt.Errorf("config %s has md5 %s, not %s: %w", ch.Name(), it.MD5, ch.CasMD5, resource.ErrConflict)
	}
	applyMeta(&it, ch, exists)
	r := Revision{Key: ch.Key, Op: OpPublish, Type: it.Type, Secret: it.Secret, Comment: ch.Comment, Ticket: ch.Ticket}
	return s.record(ctx, st, a, it, exists, r, ch.Content, required, ch.Cohort)
}

func (s *Service) load(ctx context.Context, st Tx, k Key) (Item, bool, error) {
	it, err := st.GetConfigItem(ctx, k)
	if errors.Is(err, resource.ErrNotFound) {
		return Item{Key: k}, false, nil
	}
	if err != nil {
		return Item{}, false, fmt.Errorf("config %s: %w", k.Name(), err)
	}
	return it, true, nil
}

func (s *Service) validate(ch Change, it Item, exists bool, required int) error {
	var errs resource.Errors
	checkKey(&errs, ch.Key)
	t := ch.Type
	if t == "" {
		t = it.Type
	}
	if t == "" {
		t = Text
	}
	if !slices.Contains(Types(), t) {
		errs.Add("type", "must be one of text, yaml, properties, json, got %q", t)
	} else {
		CheckContent(&errs, "content", t, ch.Content)
	}
	if ch.Description != nil {
		errs.CheckLen("description", *ch.Description, MaxDescription)
	}
	errs.CheckLen("comment", ch.Comment, MaxDescription)
	errs.CheckLen("ticket", ch.Ticket, 200)
	if len(ch.Tags) > MaxTags {
		errs.Add("tags", "must be at most %d, got %d", MaxTags, len(ch.Tags))
	}
	for i, tag := range ch.Tags {
		if tag == "" || len(tag) > 64 {
			errs.Add(fmt.Sprintf("tags[%d]", i), "must be 1 to 64 characters")
		}
	}
	if ch.Cohort != nil {
		checkCohort(&errs, *ch.Cohort)
		if required > 0 {
			errs.Add("cohort", "environment %s requires %d approvals: its configuration changes only through an approved proposal, not by gray", ch.Environment, required)
		}
		if !exists || it.Revision == 0 {
			errs.Add("cohort", "a gray revision needs a published revision for everyone else; publish %s first", ch.Name())
		}
	}
	return errs.Err()
}

func checkCohort(errs *resource.Errors, c Cohort) {
	n := len(c.IPs) + len(c.Labels) + len(c.Versions) + len(c.Regions) + len(c.Branches) + len(c.Tellers)
	if n == 0 {
		errs.Add("cohort", "must name client IPs, labels, application versions or org units")
	}
	if n > 100 {
		errs.Add("cohort", "must name at most 100 IPs, labels, versions and org units, got %d", n)
	}
	for i, v := range c.Versions {
		if v.App == "" {
			errs.Add(fmt.Sprintf("cohort.versions[%d].app", i), "is required")
		}
		if v.Version == "" {
			errs.Add(fmt.Sprintf("cohort.versions[%d].version", i), "is required")
		}
	}
}

func (s *Service) checkRoom(ctx context.Context, st Tx, e Env) error {
	n, err := st.CountConfigItems(ctx, e)
	if err != nil {
		return fmt.Errorf("count configs of %s: %w", e.Namespace(), err)
	}
	if n >= MaxItems {
		var errs resource.Errors
		errs.Add("dataId", "environment %s holds %d configuration items already, the most allowed", e.Environment, MaxItems)
		return errs.Err()
	}
	return nil
}

func applyMeta(it *Item, ch Change, exists bool) {
	if ch.Type != "" || !exists {
		it.Type = ch.Type
		if it.Type == "" {
			it.Type = Text
		}
	}
	if ch.Description != nil {
		it.Description = *ch.Description
	}
	if ch.Tags != nil || !exists {
		it.Tags = slices.Clone(ch.Tags)
	}
	if !exists {
		it.Secret = ch.Secret
	}
	it.Secret = it.Secret || ch.Secret // an item once secret stays secret
}

// record numbers r, stores it in the state its environment asks for and
// brings the item in step.
func (s *Service) record(ctx context.Context, st Tx, a audit.Actor, it Item, exists bool, r Revision, content string, required int, cohort *Cohort) (Revision, error) {
	last, err := st.LastConfigRevision(ctx, r.Key)
	if err != nil {
		return Revision{}, fmt.Errorf("revisions of %s: %w", r.Name(), err)
	}
	now := s.now()
	r.Number, r.Author, r.Time, r.MD5 = last+1, a.User, now, MD5(content)
	if r.Content, r.Sealed, err = s.sealFor(it, content); err != nil {
		return Revision{}, err
	}
	if err := s.supersede(ctx, st, &it, now); err != nil {
		return Revision{}, err
	}
	action := "config." + string(r.Op)
	switch {
	case required > 0:
		r.State, it.Proposal, action = Proposed, r.Number, "config.propose"
	case cohort != nil:
		r.State, action = GrayState, "config.gray"
		it.Gray = &Gray{Revision: r.Number, MD5: r.MD5, Content: r.Content, Sealed: r.Sealed, Cohort: *cohort}
	default:
		r.State, r.Decided = Published, now
		s.makeCurrent(&it, r)
	}
	if err := st.CreateConfigRevision(ctx, r); err != nil {
		return Revision{}, fmt.Errorf("record revision %d of %s: %w", r.Number, r.Name(), err)
	}
	if err := s.save(ctx, st, a, it, exists, now); err != nil {
		return Revision{}, err
	}
	summary := fmt.Sprintf("%s revision %d of %s (%s)", strings.TrimPrefix(action, "config."), r.Number, r.Name(), describe(r))
	return r, s.audit(ctx, st, a, r.Key, action, summary)
}

// supersede rejects the item's open proposal and gray revision: a new
// revision replaces them.
func (s *Service) supersede(ctx context.Context, st Tx, it *Item, now time.Time) error {
	for _, n := range []int64{it.Proposal, grayRevision(it.Gray)} {
		if n == 0 {
			continue
		}
		old, err := st.GetConfigRevision(ctx, it.Key, n)
		if err != nil {
			return fmt.Errorf("revision %d of %s: %w", n, it.Name(), err)
		}
		old.State, old.Decided = Rejected, now
		if err := st.UpdateConfigRevision(ctx, old); err != nil {
			return fmt.Errorf("supersede revision %d of %s: %w", n, it.Name(), err)
		}
	}
	it.Proposal, it.Gray = 0, nil
	return nil
}

func grayRevision(g *Gray) int64 {
	if g == nil {
		return 0
	}
	return g.Revision
}

func (s *Service) makeCurrent(it *Item, r Revision) {
	it.Revision, it.MD5, it.Content, it.Sealed = r.Number, r.MD5, r.Content, r.Sealed
}

func (s *Service) save(ctx context.Context, st Tx, a audit.Actor, it Item, exists bool, now time.Time) error {
	it.UpdatedAt, it.UpdatedBy = now, a.User
	if !exists {
		it.CreatedAt, it.ResourceVersion = now, 1
		if err := st.CreateConfigItem(ctx, it); err != nil {
			return fmt.Errorf("create config %s: %w", it.Name(), err)
		}
	} else {
		prev := it.ResourceVersion
		it.ResourceVersion++
		if err := st.UpdateConfigItem(ctx, it, prev); err != nil {
			return fmt.Errorf("update config %s: %w", it.Name(), err)
		}
	}
	s.announce(st, it.Key)
	return nil
}

// announce has k dropped from the cache and then its change announced,
// once st commits: the cache forgets the old content before any watcher
// is woken to ask for the new.
func (s *Service) announce(st Tx, k Key) {
	st.AfterCommit(func() {
		s.cache.drop(k)
		s.changes.Publish(Changed(k))
	})
}

// Changed is the change event of k.
func Changed(k Key) change.Changed {
	return change.Changed{Kind: change.Config, Key: change.Key{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Name: k.Name()}}
}

// KeyOf is the key a change event of kind change.Config names.
func KeyOf(c change.Key) Key {
	g, d, _ := strings.Cut(c.Name, "/")
	return Key{Tenant: c.Tenant, Project: c.Project, Environment: c.Environment, Group: g, DataID: d}
}

func describe(r Revision) string {
	parts := []string{}
	if r.Op != OpDelete {
		if r.Secret {
			parts = append(parts, "secret content")
		} else {
			parts = append(parts, "md5 "+r.MD5)
		}
	}
	if r.From != 0 {
		parts = append(parts, fmt.Sprintf("content of revision %d", r.From))
	}
	if r.Ticket != "" {
		parts = append(parts, "ticket "+r.Ticket)
	}
	if r.Comment != "" {
		parts = append(parts, "comment "+fmt.Sprintf("%q", r.Comment))
	}
	if len(parts) == 0 {
		return "removed"
	}
	return strings.Join(parts, ", ")
}

func (s *Service) audit(ctx context.Context, st Tx, a audit.Actor, k Key, action, summary string) error {
	_, err := audit.Append(ctx, st, s.now(), a, audit.Event{Tenant: k.Tenant, Project: k.Project, Action: action, Target: k.Path(), Summary: summary})
	return err
}

func (s *Service) sealFor(it Item, content string) (string, []byte, error) {
	if !it.Secret {
		return content, nil, nil
	}
	sealed, err := s.sealer.Seal([]byte(content), []byte(it.Path()))
	if err != nil {
		return "", nil, fmt.Errorf("seal config %s: %w", it.Name(), err)
	}
	return "", sealed, nil
}

func (s *Service) open(k Key, content string, sealed []byte) (string, error) {
	if sealed == nil {
		return content, nil
	}
	b, err := s.sealer.Open(sealed, []byte(k.Path()))
	if err != nil {
		return "", fmt.Errorf("open config %s: %w", k.Name(), err)
	}
	return string(b), nil
}
