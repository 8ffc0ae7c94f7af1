package ldap

import (
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/sso"
)

// InChainRule is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: a filter
// (member:1.2.840.113556.1.4.1941:=DN) matches every group DN is in,
// directly or through nested groups, in one query the server expands.
const InChainRule = "1.2.840.113556.1.4.1941"

// orChunk is how many groups one level of a nested search asks about in
// one query.
const orChunk = 50

// groups returns the DNs of the groups of the user entry e, nested ones
// included as configured, at most MaxGroups of them (the rest are left
// out: fewer groups can only grant less).
func (d *Directory) groups(c *goldap.Conn, e *goldap.Entry, username string) ([]string, error) {
	if gs, ok := d.cache.get(e.DN); ok {
		return gs, nil
	}
	gs, err := d.readGroups(c, e, username)
	if err != nil {
		return nil, err
	}
	d.cache.put(e.DN, gs)
	return gs, nil
}

func (d *Directory) readGroups(c *goldap.Conn, e *goldap.Entry, username string) ([]string, error) {
	g := d.cfg.Groups
	if g.Nested == sso.NestedInChain {
		return d.searchGroups(c, "(member:"+InChainRule+":="+goldap.EscapeFilter(e.DN)+")", g.MaxGroups)
	}
	var direct []string
	if g.Mode == sso.GroupsMemberOf {
		direct = e.GetAttributeValues(g.MemberOfAttribute)
	} else {
		var err error
		if direct, err = d.searchGroups(c, Filter(g.Filter, map[string]string{"dn": e.DN, "username": username}), g.MaxGroups); err != nil {
			return nil, err
		}
	}
	if len(direct) > g.MaxGroups {
		direct = direct[:g.MaxGroups]
	}
	if g.Nested != sso.NestedSearch {
		return direct, nil
	}
	return d.nested(c, direct)
}

// nested widens direct level by level with the groups the groups found so
// far are members of, up to MaxDepth levels and MaxGroups groups.
func (d *Directory) nested(c *goldap.Conn, direct []string) ([]string, error) {
	g := d.cfg.Groups
	seen := map[string]bool{}
	var all, level []string
	add := func(dn string) {
		if k := strings.ToLower(dn); !seen[k] && len(all) < g.MaxGroups {
			seen[k] = true
			all, level = append(all, dn), append(level, dn)
		}
	}
	for _, dn := range direct {
		add(dn)
	}
	for depth := 1; depth < g.MaxDepth && len(level) > 0 && len(all) < g.MaxGroups; depth++ {
		frontier := level
		level = nil
		for i := 0; i < len(frontier); i += orChunk {
			parents, err := d.searchGroups(c, memberOfAny(g.Filter, frontier[i:min(i+orChunk, len(frontier))]), g.MaxGroups)
			if err != nil {
				return nil, err
			}
			for _, dn := range parents {
				add(dn)
			}
		}
	}
	return all, nil
}

// memberOfAny is the group filter with {dn} each of dns, or'ed.
func memberOfAny(filter string, dns []string) string {
	var b strings.Builder
	b.WriteString("(|")
	for _, dn := range dns {
		b.WriteString(Filter(filter, map[string]string{"dn": dn, "username": ""}))
	}
	b.WriteString(")")
	return b.String()
}

// searchGroups returns the DNs of the groups under the group base DN that
// match filter, at most limit of them.
func (d *Directory) searchGroups(c *goldap.Conn, filter string, limit int) ([]string, error) {
	req := goldap.NewSearchRequest(d.cfg.Groups.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, limit, d.seconds(), false,
		filter, []string{"1.1"}, nil)
	res, err := c.Search(req)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, d.unavailable("search groups", err)
	}
	if res == nil {
		return nil, nil
	}
	out := make([]string, len(res.Entries))
	for i, e := range res.Entries {
		out[i] = e.DN
	}
	return out, nil
}

// groupCache keeps a person's groups for a short while, so that a burst
// of logins does not walk nested groups each time. Passwords are never
// cached: every login binds.
type groupCache struct {
	clock clock.Clock
	ttl   time.Duration
	mu    sync.Mutex
	m     map[string]cached
}

type cached struct {
	groups  []string
	expires time.Time
}

// maxCached bounds the cache; when full, it starts over.
const maxCached = 10000

func newGroupCache(c clock.Clock, ttl time.Duration) *groupCache {
	return &groupCache{clock: c, ttl: ttl, m: map[string]cached{}}
}

func (g *groupCache) get(dn string) ([]string, bool) {
	if g.ttl <= 0 {
		return nil, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.m[strings.ToLower(dn)]
	if !ok || !g.clock.Now().Before(e.expires) {
		return nil, false
	}
	return e.groups, true
}

func (g *groupCache) put(dn string, groups []string) {
	if g.ttl <= 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.m) >= maxCached {
		clear(g.m)
	}
	g.m[strings.ToLower(dn)] = cached{groups: groups, expires: g.clock.Now().Add(g.ttl)}
}
