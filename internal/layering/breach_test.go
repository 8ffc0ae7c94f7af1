package layering

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// graph is a synthetic module: each package's direct imports, by full
// import path. Deps are computed from it as go list would.
type graph map[string][]string

// cleanGraph returns one package for every entry of the real table ("x/..."
// becomes "x/sample"), importing nothing but what each exception allows.
func cleanGraph() graph {
	g := graph{}
	for _, l := range layers {
		for _, e := range l.packages {
			e = strings.Replace(e, "/...", "/sample", 1)
			g[module+"/"+e] = nil
		}
	}
	for _, x := range exceptions {
		g[module+"/"+x.pkg] = append(g[module+"/"+x.pkg], sampleOf(x.may))
	}
	return g
}

// sampleOf returns one package of a layer or a group.
func sampleOf(name string) string {
	if patterns := groups[name]; patterns != nil {
		return strings.TrimSuffix(patterns[0], "/...")
	}
	for _, l := range layers {
		if l.name == name {
			return module + "/" + strings.Replace(l.packages[0], "/...", "/sample", 1)
		}
	}
	panic("no layer or group " + name)
}

func (g graph) pkgs() []pkg {
	var out []pkg
	for _, path := range slices.Sorted(maps.Keys(g)) {
		seen := map[string]bool{}
		var walk func(string)
		walk = func(p string) {
			for _, imp := range g[p] {
				if !seen[imp] {
					seen[imp] = true
					walk(imp)
				}
			}
		}
		walk(path)
		out = append(out, pkg{ImportPath: path, Imports: g[path], Deps: slices.Sorted(maps.Keys(seen))})
	}
	return out
}

// TestCheckerFindsEachBreach feeds the checker synthetic modules, so the
// real check cannot pass by finding nothing.
func TestCheckerFindsEachBreach(t *testing.T) {
	t.Parallel()
	const m = module + "/"
	tests := []struct {
		name   string
		change func(g graph)
		want   []breach
	}{
		{
			name:   "a module as the table draws it has no breach",
			change: func(graph) {},
		},
		{
			name:   "a domain package importing the store both imports and reaches it",
			change: func(g graph) { g[m+"internal/tenancy"] = []string{m + "internal/store"} },
			want: []breach{
				{kind: forbiddenDirect, pkg: "internal/tenancy", target: "internal/store"},
				{kind: forbiddenReach, pkg: "internal/tenancy", target: "internal/store"},
			},
		},
		{
			name:   "a command importing database/sql itself",
			change: func(g graph) { g[m+"internal/cli/servercmd"] = []string{"database/sql"} },
			want:   []breach{{kind: forbiddenDirect, pkg: "internal/cli/servercmd", target: "database/sql"}},
		},
		{
			name: "a domain package reaching net/http through an outside package",
			change: func(g graph) {
				g[m+"internal/tenancy"] = []string{"example.com/yaml"}
				g["example.com/yaml"] = []string{"example.com/fetch"}
				g["example.com/fetch"] = []string{"net/http"}
			},
			want: []breach{{kind: forbiddenReach, pkg: "internal/tenancy", target: "net/http",
				note: "layer domain must never reach net/http; through internal/tenancy → example.com/yaml → example.com/fetch → net/http"}},
		},
		{
			name: "the application layer reaching client-go through a domain package it may import",
			change: func(g graph) {
				g[m+"internal/platform"] = []string{m + "internal/tenancy"}
				g[m+"internal/tenancy"] = []string{"k8s.io/client-go/kubernetes"}
			},
			want: []breach{
				{kind: forbiddenReach, pkg: "internal/platform", target: "k8s.io/client-go/kubernetes"},
				{kind: forbiddenDirect, pkg: "internal/tenancy", target: "k8s.io/client-go/kubernetes"},
				{kind: forbiddenReach, pkg: "internal/tenancy", target: "k8s.io/client-go/kubernetes"},
			},
		},
		{
			name:   "a package no entry takes",
			change: func(g graph) { g[m+"internal/scanner"] = nil },
			want:   []breach{{kind: unknownPackage, pkg: "internal/scanner"}},
		},
		{
			name:   "an entry with no package",
			change: func(g graph) { delete(g, m+"internal/notify") },
			want:   []breach{{kind: unusedEntry, pkg: "internal/notify", target: "domain"}},
		},
		{
			name:   "a pattern with no package",
			change: func(g graph) { delete(g, m+"cmd/sample") },
			want:   []breach{{kind: unusedEntry, pkg: "cmd/...", target: "main"}},
		},
		{
			name:   "an exception no import needs",
			change: func(g graph) { g[m+"internal/api"] = nil },
			want:   []breach{{kind: unusedEntry, pkg: "internal/api", target: "kube"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := cleanGraph()
			tt.change(g)
			got := berth.check(g.pkgs())
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(breach{}), ignoreNoteUnlessWanted(tt.want)); diff != "" {
				t.Errorf("breaches (-want +got):\n%s", diff)
			}
		})
	}
}

// ignoreNoteUnlessWanted compares notes only when the expected breaches
// spell one out.
func ignoreNoteUnlessWanted(want []breach) cmp.Option {
	for _, b := range want {
		if b.note != "" {
			return cmp.Options{}
		}
	}
	return cmp.FilterPath(func(p cmp.Path) bool {
		f, ok := p.Last().(cmp.StructField)
		return ok && f.Name() == "note"
	}, cmp.Ignore())
}

// TestCheckerFindsATableAtOddsWithItself: names that are neither a layer nor
// a group, a package two entries take, a layer that may import what it must
// never reach.
func TestCheckerFindsATableAtOddsWithItself(t *testing.T) {
	t.Parallel()
	c := checker{module: module + "/", groups: groups, layers: []layer{
		{name: "domain", packages: []string{"internal/tenancy"}, mayImport: []string{"domain", "SQL"}, neverReaches: []string{"SQL"}},
		{name: "store", packages: []string{"internal/store", "internal/..."}, mayImport: []string{"domian"}},
	}, exceptions: []exception{{pkg: "internal/nowhere/x", may: "store"}}}
	// internal/nowhere/x is under the pattern internal/..., so the exception
	// is only reported as unused.
	got := c.check(graph{module + "/internal/tenancy": nil, module + "/internal/store": nil}.pkgs())
	want := []breach{
		{kind: badTable, pkg: "domain", target: "SQL"},
		{kind: badTable, pkg: "internal/store"},
		{kind: badTable, pkg: "internal/tenancy"},
		{kind: badTable, pkg: "store", target: "domian"},
		{kind: unusedEntry, pkg: "internal/nowhere/x", target: "store"},
	}
	slices.SortFunc(got, func(a, b breach) int { return strings.Compare(a.kind+a.pkg, b.kind+b.pkg) })
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(breach{}), ignoreNoteUnlessWanted(nil)); diff != "" {
		t.Errorf("breaches (-want +got):\n%s", diff)
	}
}
