package gateway

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"berth.dev/berth/internal/resource"
)

// streamed is what a gateway holds of a configuration it received by
// units (stream version 2), to apply the next delta to; Gateway.loadMu
// guards it. Requests never read it: they read the table.
type streamed struct {
	units map[string]*builtUnit // by app name
	owner map[string]string     // route name → app name
	dig   digest
}

type builtUnit struct {
	unit   *Unit
	hash   [32]byte
	routes []*route
}

// update is one version 2 event: the whole configuration (full) or the
// change from configuration base, after which the configuration is id.
type update struct {
	id, base string
	full     bool
	put      []*Unit
	hashes   [][32]byte // of each unit of put as received
	del      []string   // app names
}

// errGap is an update that does not apply to the configuration in force:
// the subscriber asks for the whole configuration again.
var errGap = errors.New("the change does not apply to the configuration in force")

// decodeUpdate decodes a "snapshot" or "delta" event strictly; each unit
// is hashed as received.
func decodeUpdate(ev Event) (update, error) {
	var w struct {
		Base   string            `json:"base"`
		Units  []json.RawMessage `json:"units"`
		Delete []string          `json:"delete"`
	}
	u := update{id: ev.ID, full: ev.Name == "snapshot"}
	if ev.ID == "" {
		return u, errors.New("decode configuration change: no id")
	}
	dec := json.NewDecoder(strings.NewReader(ev.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return u, fmt.Errorf("decode configuration change: %w", err)
	}
	u.base, u.del = w.Base, w.Delete
	for i, raw := range w.Units {
		unit := &Unit{}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(unit); err != nil {
			return u, fmt.Errorf("decode configuration change: units[%d]: %w", i, err)
		}
		u.put = append(u.put, unit)
		u.hashes = append(u.hashes, sha256.Sum256(raw))
	}
	return u, nil
}

// update applies u: every unit it puts is validated and built, the
// configuration's name after it must be u.id, and only then is the new
// table swapped in. Anything wrong leaves the running configuration and
// what is held of it untouched; errGap reports a delta whose base is not
// the configuration in force. Work is proportional to the units changed,
// but for copying the table's route pointers.
func (g *Gateway) update(u update) error {
	g.loadMu.Lock()
	defer g.loadMu.Unlock()
	prev, st := g.table.Load(), g.streamed
	switch {
	case u.full && prev != nil && st != nil && prev.id == u.id:
		g.metrics.reloads.WithLabelValues("unchanged").Inc()
		return nil
	case u.full:
		st = &streamed{units: map[string]*builtUnit{}, owner: map[string]string{}}
	case st == nil || prev == nil || prev.id != u.base:
		have := ""
		if prev != nil {
			have = prev.id
		}
		g.metrics.reloads.WithLabelValues("rejected").Inc()
		return fmt.Errorf("%w: it applies to %.12s, this gateway has %.12s", errGap, u.base, have)
	}
	t, commit, err := g.prepare(u, prev, st)
	if err != nil {
		g.metrics.reloads.WithLabelValues("rejected").Inc()
		return err
	}
	commit()
	g.streamed = st
	g.table.Store(t)
	g.metrics.reloads.WithLabelValues("applied").Inc()
	g.log.Info("gateway configuration applied", "id", u.id, "apps", t.apps, "changed", len(u.put), "deleted", len(u.del))
	return nil
}

// prepare validates and builds u over prev and st, changing neither: it
// returns the new table and the function that makes st hold u.
func (g *Gateway) prepare(u update, prev *table, st *streamed) (*table, func(), error) {
	replaced, errs := st.check(u)
	if len(errs) > 0 {
		return nil, nil, &ValidationError{Fields: errs}
	}
	old := map[string]*governance{}
	var removed []*route
	var removedHashes [][32]byte
	if u.full && prev != nil {
		for _, r := range prev.routes {
			old[r.gov.key] = r.gov
		}
	}
	for _, b := range replaced {
		removedHashes = append(removedHashes, b.hash)
		removed = append(removed, b.routes...)
		for _, r := range b.routes {
			old[r.gov.key] = r.gov
		}
	}
	built := make([]*builtUnit, len(u.put))
	var added []*route
	for i, x := range u.put {
		b, fes := g.buildUnit(x, u.hashes[i], old)
		errs = append(errs, fes...)
		built[i] = b
		if b != nil {
			added = append(added, b.routes...)
		}
	}
	if len(errs) > 0 {
		return nil, nil, &ValidationError{Fields: errs}
	}
	id, commitDigest := st.dig.with(removedHashes, u.hashes)
	if id != u.id {
		return nil, nil, fmt.Errorf("the configuration after the change would be %.12s, the server's is %.12s: %w", id, u.id, errGap)
	}
	var routes []*route
	if u.full || prev == nil {
		routes = added
		slices.SortFunc(routes, routeOrder)
	} else {
		routes = splice(prev.routes, removed, added)
	}
	commit := func() {
		commitDigest()
		for _, b := range replaced {
			releaseRouteNames(st.owner, []*Unit{b.unit})
			delete(st.units, b.unit.App.Name)
		}
		for _, b := range built {
			st.units[b.unit.App.Name] = b
		}
		claimRouteNames(st.owner, u.put)
	}
	return &table{id: u.id, apps: len(st.units) - len(replaced) + len(built), routes: routes}, commit, nil
}

// check validates the units u puts and deletes against st, and returns
// the units they replace or delete.
func (st *streamed) check(u update) ([]*builtUnit, []*resource.FieldError) {
	var errs []*resource.FieldError
	var replaced []*builtUnit
	seen := map[string]bool{}
	for _, x := range u.put {
		name := x.App.Name
		if seen[name] {
			errs = append(errs, &resource.FieldError{Path: fmt.Sprintf("units[%q]", name), Reason: "put twice"})
		}
		seen[name] = true
		errs = append(errs, x.validate()...)
		if b, ok := st.units[name]; ok {
			replaced = append(replaced, b)
		}
	}
	for _, name := range u.del {
		b, ok := st.units[name]
		if !ok || seen[name] {
			errs = append(errs, &resource.FieldError{Path: fmt.Sprintf("delete[%q]", name), Reason: "not an app of the configuration in force, or put too"})
			continue
		}
		seen[name] = true
		replaced = append(replaced, b)
	}
	freed := make([]*Unit, len(replaced))
	for i, b := range replaced {
		freed[i] = b.unit
	}
	return replaced, append(errs, checkRouteNames(st.owner, freed, u.put)...)
}

// buildUnit builds x, taking governance state from old.
func (g *Gateway) buildUnit(x *Unit, hash [32]byte, old map[string]*governance) (*builtUnit, []*resource.FieldError) {
	p := fmt.Sprintf("units[%q]", x.App.Name)
	a, errs := g.buildApp(p+".app", x.App)
	if a == nil {
		return nil, errs
	}
	b := &builtUnit{unit: x, hash: hash}
	for i, rc := range x.Routes {
		r, fe := g.buildRoute(fmt.Sprintf("%s.routes[%d]", p, i), rc, a, old)
		if fe != nil {
			errs = append(errs, fe)
			continue
		}
		r.idx = i
		b.routes = append(b.routes, r)
	}
	return b, errs
}

// routeOrder is the match order of a streamed configuration's routes:
// that of Load (exact hosts, then wildcards by suffix length, then any
// host; longer prefixes first) and, where Load keeps the configuration's
// order, app name then the route's place in its unit. It is total, so a
// delta's routes are put in place by binary search.
func routeOrder(a, b *route) int {
	return cmp.Or(cmp.Compare(hostRank(a), hostRank(b)), cmp.Compare(len(b.host), len(a.host)),
		cmp.Compare(len(b.prefix), len(a.prefix)), strings.Compare(a.app.name, b.app.name), cmp.Compare(a.idx, b.idx))
}

// splice returns prev (in routeOrder) without removed and with added, in
// routeOrder. It keeps none of its arguments and sorts added.
func splice(prev, removed, added []*route) []*route {
	drop := make(map[int]bool, len(removed))
	for _, r := range removed {
		i, ok := slices.BinarySearchFunc(prev, r, routeOrder)
		if !ok || prev[i] != r {
			return spliceSlow(prev, removed, added)
		}
		drop[i] = true
	}
	slices.SortFunc(added, routeOrder)
	out := make([]*route, 0, len(prev)-len(drop)+len(added))
	j := 0
	for i, r := range prev {
		if drop[i] {
			continue
		}
		for j < len(added) && routeOrder(added[j], r) < 0 {
			out = append(out, added[j])
			j++
		}
		out = append(out, r)
	}
	return append(out, added[j:]...)
}

// spliceSlow is splice for a prev not in routeOrder (never expected).
func spliceSlow(prev, removed, added []*route) []*route {
	gone := map[*route]bool{}
	for _, r := range removed {
		gone[r] = true
	}
	out := make([]*route, 0, len(prev)+len(added))
	for _, r := range prev {
		if !gone[r] {
			out = append(out, r)
		}
	}
	out = append(out, added...)
	slices.SortFunc(out, routeOrder)
	return out
}

// Loaded returns the name of the configuration in force (its stream ID;
// "" for one loaded from a file or before any) and how many apps it has.
func (g *Gateway) Loaded() (id string, apps int) {
	t := g.table.Load()
	if t == nil {
		return "", 0
	}
	return t.id, t.apps
}

// Streamed returns the configuration in force as received by units
// (stream version 2): apps in name order, routes in the order of their
// apps, as the server's Publisher.Current has it; false when the
// configuration in force did not come that way.
func (g *Gateway) Streamed() (Config, bool) {
	g.loadMu.Lock()
	defer g.loadMu.Unlock()
	if g.streamed == nil {
		return Config{}, false
	}
	cfg := Config{Routes: []Route{}, Apps: []App{}}
	for _, name := range slices.Sorted(maps.Keys(g.streamed.units)) {
		u := g.streamed.units[name].unit
		cfg.Apps = append(cfg.Apps, u.App)
		cfg.Routes = append(cfg.Routes, u.Routes...)
	}
	return cfg, true
}
