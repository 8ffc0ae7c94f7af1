package platform

import (
	"context"
	"fmt"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/gray"
	"berth.dev/berth/internal/release"
	"berth.dev/berth/internal/resource"
)

// # Config center
//
// Items live in an environment; Berth's roles at the environment's
// project decide who reads (config:read, and config:read-secret for the
// content of secret items) and who writes (config:write). Where the
// environment requires approvals (its own number or an approval floor,
// as for release orders), a change made through Berth's API is proposed
// and becomes current once enough people other than its author approve
// it (config:approve); a change from a Nacos client, which cannot wait for
// approvals, is refused there. Each method runs in the caller's
// transaction; the domain service writes the audit record and announces
// change.Config after commit.

// PublishConfig publishes ch, or proposes it where approvals are required.
func (p *Platform) PublishConfig(ctx context.Context, tx Tx, c Caller, ch configcenter.Change) (configcenter.Revision, error) {
	required, err := p.configApprovals(ctx, tx, c, ch.Key, authz.ConfigWrite)
	if err != nil {
		return configcenter.Revision{}, err
	}
	if ch.Cohort, err = resolveCohort(ctx, tx, ch.Tenant, ch.Cohort); err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.Publish(ctx, tx, c.Actor, ch, required)
}

// resolveCohort returns co with its org units named by code, as the
// tenant's org directory has them (a copy; nil for nil).
func resolveCohort(ctx context.Context, tx Tx, tenant string, co *configcenter.Cohort) (*configcenter.Cohort, error) {
	if co == nil || len(co.Regions)+len(co.Branches)+len(co.Tellers) == 0 {
		return co, nil
	}
	dir, err := tx.ListOrgUnits(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("org directory of %s: %w", tenant, err)
	}
	var errs resource.Errors
	out := *co
	out.Regions, out.Branches, out.Tellers = gray.IndexOrg(dir).Resolve(&errs, "cohort", co.Regions, co.Branches, co.Tellers)
	return &out, errs.Err()
}

// PublishConfigNow publishes ch at once, as a Nacos client asks: refused
// where the environment requires approvals.
func (p *Platform) PublishConfigNow(ctx context.Context, tx Tx, c Caller, ch configcenter.Change) (configcenter.Revision, error) {
	required, err := p.configApprovals(ctx, tx, c, ch.Key, authz.ConfigWrite)
	if err != nil {
		return configcenter.Revision{}, err
	}
	if err := direct(ch.Key, required); err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.Publish(ctx, tx, c.Actor, ch, 0)
}

func direct(k configcenter.Key, required int) error {
	if required == 0 {
		return nil
	}
	return resource.Refused("environment %s requires %d approvals: change %s through Berth (berth config set proposes it, "+
		"berth config approve makes it current)", k.Environment, required, k.Name())
}

// RemoveConfig deletes k, or proposes deleting it where approvals are
// required.
func (p *Platform) RemoveConfig(ctx context.Context, tx Tx, c Caller, k configcenter.Key, comment, ticket string) (configcenter.Revision, error) {
	required, err := p.configApprovals(ctx, tx, c, k, authz.ConfigWrite)
	if err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.Remove(ctx, tx, c.Actor, k, comment, ticket, required)
}

// RemoveConfigNow deletes k at once, as a Nacos client asks: refused
// where approvals are required.
func (p *Platform) RemoveConfigNow(ctx context.Context, tx Tx, c Caller, k configcenter.Key) (configcenter.Revision, error) {
	required, err := p.configApprovals(ctx, tx, c, k, authz.ConfigWrite)
	if err != nil {
		return configcenter.Revision{}, err
	}
	if err := direct(k, required); err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.Remove(ctx, tx, c.Actor, k, "", "", 0)
}

// RollbackConfig publishes revision to's content again as a new revision
// (proposed where approvals are required).
func (p *Platform) RollbackConfig(ctx context.Context, tx Tx, c Caller, k configcenter.Key, to int64, comment, ticket string) (configcenter.Revision, error) {
	required, err := p.configApprovals(ctx, tx, c, k, authz.ConfigWrite)
	if err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.Rollback(ctx, tx, c.Actor, k, to, comment, ticket, required)
}

// ApproveConfig approves proposal n of k.
func (p *Platform) ApproveConfig(ctx context.Context, tx Tx, c Caller, k configcenter.Key, n int64) (configcenter.Revision, error) {
	required, err := p.configApprovals(ctx, tx, c, k, authz.ConfigApprove)
	if err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.Approve(ctx, tx, c.Actor, k, n, required)
}

// RejectConfig rejects proposal n of k.
func (p *Platform) RejectConfig(ctx context.Context, tx Tx, c Caller, k configcenter.Key, n int64, reason string) (configcenter.Revision, error) {
	if _, err := p.configApprovals(ctx, tx, c, k, authz.ConfigApprove); err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.Reject(ctx, tx, c.Actor, k, n, reason)
}

// PromoteConfigGray makes k's gray revision current for every client.
func (p *Platform) PromoteConfigGray(ctx context.Context, tx Tx, c Caller, k configcenter.Key) (configcenter.Revision, error) {
	if _, err := p.configApprovals(ctx, tx, c, k, authz.ConfigWrite); err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.PromoteGray(ctx, tx, c.Actor, k)
}

// AbortConfigGray stops serving k's gray revision.
func (p *Platform) AbortConfigGray(ctx context.Context, tx Tx, c Caller, k configcenter.Key) (configcenter.Revision, error) {
	if _, err := p.configApprovals(ctx, tx, c, k, authz.ConfigWrite); err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.AbortGray(ctx, tx, c.Actor, k)
}

// configApprovals checks perm on k's project and returns how many
// approvals a change in k's environment requires.
func (p *Platform) configApprovals(ctx context.Context, tx Tx, c Caller, k configcenter.Key, perm authz.Permission) (int, error) {
	if err := c.may(perm, scopeOf(k.Tenant, k.Project)); err != nil {
		return 0, err
	}
	env, err := tx.GetEnvironment(ctx, k.Tenant, k.Project, k.Environment)
	if err != nil {
		return 0, fmt.Errorf("environment %s of %s/%s: %w", k.Environment, k.Tenant, k.Project, err)
	}
	return release.RequiredApprovals(ctx, tx, env)
}

// ConfigItem reads k with its content; a secret item's content only for
// who may read secrets (otherwise it comes back empty, Redacted true).
func (p *Platform) ConfigItem(ctx context.Context, tx Tx, c Caller, k configcenter.Key) (it configcenter.Item, redacted bool, err error) {
	if err := c.may(authz.ConfigRead, scopeOf(k.Tenant, k.Project)); err != nil {
		return configcenter.Item{}, false, err
	}
	it, err = p.Config.Get(ctx, tx, k)
	if err != nil || !it.Secret || c.may(authz.ConfigSecretRead, scopeOf(k.Tenant, k.Project)) == nil {
		return it, false, err
	}
	it.Content = ""
	if it.Gray != nil {
		g := *it.Gray
		g.Content, it.Gray = "", &g
	}
	return it, true, nil
}

// ServeConfig returns what client is served of k (the gray revision when
// it is in the gray cohort). It reads in a transaction of its own, begun
// after the call, or not at all when a recent read holds k.
func (p *Platform) ServeConfig(ctx context.Context, c Caller, k configcenter.Key, client configcenter.Client) (configcenter.Served, error) {
	s, err := p.ServeConfigs(ctx, c, []configcenter.Key{k}, client)
	if err != nil {
		return configcenter.Served{}, err
	}
	if s[0].Revision == 0 {
		return configcenter.Served{}, fmt.Errorf("config %s: %w", k.Name(), resource.ErrNotFound)
	}
	return s[0], nil
}

// ServeConfigs returns what client is served of each key, in order; an
// item that does not exist is a zero Served (Revision 0). The caller must
// read every key's project, and read secrets where an item is secret.
func (p *Platform) ServeConfigs(ctx context.Context, c Caller, keys []configcenter.Key, client configcenter.Client) ([]configcenter.Served, error) {
	for _, k := range keys {
		if err := c.may(authz.ConfigRead, scopeOf(k.Tenant, k.Project)); err != nil {
			return nil, err
		}
	}
	view := func(f func(configcenter.Store) error) error {
		return p.DB.View(ctx, func(tx Tx) error { return f(tx) })
	}
	out, err := p.Config.ServeAll(ctx, view, keys, client)
	if err != nil {
		return nil, err
	}
	for i, s := range out {
		if s.Secret {
			if err := c.may(authz.ConfigSecretRead, scopeOf(keys[i].Tenant, keys[i].Project)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// ConfigItems lists an environment's items, without content.
func (p *Platform) ConfigItems(ctx context.Context, tx Tx, c Caller, e configcenter.Env, o resource.ListOptions) (resource.Page[configcenter.Item], error) {
	if err := c.may(authz.ConfigRead, scopeOf(e.Tenant, e.Project)); err != nil {
		return resource.Page[configcenter.Item]{}, err
	}
	return p.Config.List(ctx, tx, e, o)
}

// ConfigHistory lists k's revisions newest first, without content.
func (p *Platform) ConfigHistory(ctx context.Context, tx Tx, c Caller, k configcenter.Key, before int64, limit int) ([]configcenter.Revision, error) {
	if err := c.may(authz.ConfigRead, scopeOf(k.Tenant, k.Project)); err != nil {
		return nil, err
	}
	return p.Config.History(ctx, tx, k, before, limit)
}

// ConfigRevision reads revision n of k with its content (a secret's only
// for who may read secrets).
func (p *Platform) ConfigRevision(ctx context.Context, tx Tx, c Caller, k configcenter.Key, n int64) (configcenter.Revision, error) {
	if err := p.mayReadContent(ctx, tx, c, k); err != nil {
		return configcenter.Revision{}, err
	}
	return p.Config.Revision(ctx, tx, k, n)
}

// ConfigDiff returns the lines that turn revision a of k into revision b.
func (p *Platform) ConfigDiff(ctx context.Context, tx Tx, c Caller, k configcenter.Key, a, b int64) ([]configcenter.Line, error) {
	if err := p.mayReadContent(ctx, tx, c, k); err != nil {
		return nil, err
	}
	return p.Config.Diff(ctx, tx, k, a, b)
}

// mayReadContent asks config:read, and config:read-secret when any
// revision of k was secret (an item once secret stays so; a deleted one
// is judged by its last revision).
func (p *Platform) mayReadContent(ctx context.Context, tx Tx, c Caller, k configcenter.Key) error {
	scope := scopeOf(k.Tenant, k.Project)
	if err := c.may(authz.ConfigRead, scope); err != nil {
		return err
	}
	rs, err := tx.ListConfigRevisions(ctx, k, 0, 1)
	if err != nil {
		return fmt.Errorf("history of %s: %w", k.Name(), err)
	}
	if len(rs) > 0 && rs[0].Secret {
		return c.may(authz.ConfigSecretRead, scope)
	}
	return nil
}
