package layering

import (
	"fmt"
	"slices"
	"strings"
)

// layer is one row of the layers table.
type layer struct {
	name         string
	packages     []string // relative to the module; "x/..." is x and every package under it
	mayImport    []string // layers and groups a package may import directly
	neverReaches []string // layers and groups no chain of imports may reach
}

// exception lets one package import one more layer or group.
type exception struct {
	pkg string // relative to the module
	may string // a layer or a group
	why string
}

// pkg is what go list says of one package.
type pkg struct {
	ImportPath string
	Imports    []string // direct imports of its non-test files
	Deps       []string // every package its non-test files reach
}

// Kinds of breach.
const (
	unknownPackage  = "unknown package" // a package of the module no table entry takes
	unusedEntry     = "unused entry"    // a table entry or exception that takes no package or import
	badTable        = "bad table"       // the table contradicts itself
	forbiddenDirect = "imports"         // a direct import its layer may not have
	forbiddenReach  = "reaches"         // a package reached through a chain its layer must never reach
)

// breach is one way the packages depart from the table.
type breach struct {
	kind   string
	pkg    string // module-relative package, table entry or layer
	target string // the import or reached package; the layer or group for table errors
	note   string // the rule or the chain of imports, for people
}

func (b breach) String() string {
	s := b.pkg + " " + b.kind
	if b.target != "" {
		s += " " + b.target
	}
	if b.note != "" {
		s += ": " + b.note
	}
	return s
}

// checker holds the table in the shape the checks need.
type checker struct {
	module     string // with a trailing slash
	layers     []layer
	groups     map[string][]string
	exceptions []exception
}

// check returns every breach of the table by pkgs, the output of go list
// -deps for the whole module (packages outside the module only explain
// chains). It keeps none of its arguments.
func (c checker) check(pkgs []pkg) []breach {
	var out []breach
	out = append(out, c.checkTable()...)

	byPath := map[string]pkg{}
	var own []pkg
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
		if strings.HasPrefix(p.ImportPath, c.module) {
			own = append(own, p)
		}
	}
	entryUsed := map[string]bool{}
	exceptionUsed := map[exception]bool{}
	for _, p := range own {
		rel := c.rel(p.ImportPath)
		l, entries := c.layerOf(rel)
		for _, e := range entries {
			entryUsed[e] = true
		}
		switch {
		case len(entries) == 0:
			out = append(out, breach{kind: unknownPackage, pkg: rel, note: "add it to one layer of the table and of docs/architecture.md"})
			continue
		case len(entries) > 1:
			out = append(out, breach{kind: badTable, pkg: rel, note: fmt.Sprintf("taken by more than one entry: %v", entries)})
			continue
		}
		out = append(out, c.checkImports(rel, l, p.Imports, exceptionUsed)...)
		out = append(out, c.checkReach(rel, l, p, byPath)...)
	}
	for _, l := range c.layers {
		for _, e := range l.packages {
			if !entryUsed[e] {
				out = append(out, breach{kind: unusedEntry, pkg: e, target: l.name, note: "no package of the module is there"})
			}
		}
	}
	for _, x := range c.exceptions {
		if !exceptionUsed[x] {
			out = append(out, breach{kind: unusedEntry, pkg: x.pkg, target: x.may, note: "the exception is no longer needed"})
		}
	}
	return out
}

// checkTable reports names that are neither a layer nor a group, layers
// named twice, and exceptions of packages no entry takes.
func (c checker) checkTable() []breach {
	var out []breach
	seen := map[string]bool{}
	for _, l := range c.layers {
		if seen[l.name] || c.groups[l.name] != nil {
			out = append(out, breach{kind: badTable, pkg: l.name, note: "layer named twice"})
		}
		seen[l.name] = true
	}
	known := func(name string) bool { return seen[name] || c.groups[name] != nil }
	for _, l := range c.layers {
		for _, n := range slices.Concat(l.mayImport, l.neverReaches) {
			if !known(n) {
				out = append(out, breach{kind: badTable, pkg: l.name, target: n, note: "neither a layer nor a group"})
			}
		}
		for _, n := range l.mayImport {
			if slices.Contains(l.neverReaches, n) {
				out = append(out, breach{kind: badTable, pkg: l.name, target: n, note: "both may be imported and must never be reached"})
			}
		}
	}
	for _, x := range c.exceptions {
		if !known(x.may) {
			out = append(out, breach{kind: badTable, pkg: x.pkg, target: x.may, note: "neither a layer nor a group"})
		}
		if _, entries := c.layerOf(x.pkg); len(entries) == 0 {
			out = append(out, breach{kind: badTable, pkg: x.pkg, target: x.may, note: "an exception for a package no layer takes"})
		}
	}
	return out
}

// checkImports reports the direct imports of rel that its layer l may not
// have, and marks the exceptions it uses.
func (c checker) checkImports(rel string, l layer, imports []string, used map[exception]bool) []breach {
	var out []breach
	for _, imp := range imports {
		target := c.classify(imp)
		if target == "" {
			continue // an outside package no group restricts
		}
		if slices.Contains(l.mayImport, target) {
			continue
		}
		if x, ok := c.exception(rel, target); ok {
			used[x] = true
			continue
		}
		out = append(out, breach{kind: forbiddenDirect, pkg: rel, target: c.rel(imp),
			note: fmt.Sprintf("layer %s may not import %s", l.name, target)})
	}
	return out
}

// checkReach reports, once per rule, a package p of layer l reaches that
// l must never reach, with one chain of imports that gets there.
func (c checker) checkReach(rel string, l layer, p pkg, byPath map[string]pkg) []breach {
	var out []breach
	reported := map[string]bool{}
	for _, d := range p.Deps {
		target := c.classify(d)
		if target == "" || reported[target] || !slices.Contains(l.neverReaches, target) {
			continue
		}
		reported[target] = true
		out = append(out, breach{kind: forbiddenReach, pkg: rel, target: c.rel(d),
			note: fmt.Sprintf("layer %s must never reach %s; through %s", l.name, target, c.chain(p.ImportPath, d, byPath))})
	}
	return out
}

// classify returns the layer of a package of the module, the group of an
// outside package, or "" for an outside package no group restricts.
func (c checker) classify(path string) string {
	if strings.HasPrefix(path, c.module) {
		l, entries := c.layerOf(c.rel(path))
		if len(entries) == 0 {
			return "(no layer)"
		}
		return l.name
	}
	for name, patterns := range c.groups {
		for _, p := range patterns {
			if matches(path, p) {
				return name
			}
		}
	}
	return ""
}

// layerOf returns the layer of rel and every table entry that takes it
// (more than one is a table error).
func (c checker) layerOf(rel string) (layer, []string) {
	var found layer
	var entries []string
	for _, l := range c.layers {
		for _, e := range l.packages {
			if matches(rel, e) {
				found = l
				entries = append(entries, e)
			}
		}
	}
	return found, entries
}

func (c checker) exception(rel, target string) (exception, bool) {
	for _, x := range c.exceptions {
		if x.pkg == rel && x.may == target {
			return x, true
		}
	}
	return exception{}, false
}

// chain returns the shortest chain of imports from one package to another,
// as far as byPath describes them.
func (c checker) chain(from, to string, byPath map[string]pkg) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 && prev[to] == "" {
		n := queue[0]
		queue = queue[1:]
		for _, m := range byPath[n].Imports {
			if _, ok := prev[m]; !ok {
				prev[m] = n
				queue = append(queue, m)
			}
		}
	}
	if _, ok := prev[to]; !ok {
		return c.rel(from) + " → … → " + c.rel(to)
	}
	var steps []string
	for n := to; n != ""; n = prev[n] {
		steps = append(steps, c.rel(n))
	}
	slices.Reverse(steps)
	return strings.Join(steps, " → ")
}

// rel names a package of the module relative to it, others in full.
func (c checker) rel(path string) string { return strings.TrimPrefix(path, c.module) }

// matches reports whether path is pattern, or, for a pattern "x/...", x or
// a package under it.
func matches(path, pattern string) bool {
	prefix, ok := strings.CutSuffix(pattern, "/...")
	if !ok {
		return path == pattern
	}
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}
