package engine_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// hosts are the packages that run the whole engine: each must build it with
// engine.New and wire none of it itself, so the benchmarks measure what
// `berth server` runs.
var hosts = []string{
	"../cli/servercmd",            // berth server
	"../../bench/internal/engine", // the engine of bench/release, bench/deploy, bench/traffic
}

// assembling are the calls that build a piece of the engine; outside
// internal/engine they mean a second assembly.
var assembling = map[string][]string{
	"berth.dev/berth/internal/platform": {"New"},
	"berth.dev/berth/internal/kube":     {"NewRegistry"},
	"berth.dev/berth/internal/controller": {"NewClusters", "NewDeployments", "NewReleases", "NewIsolation",
		"NewGrayPlans", "NewGatewayConfig"},
	"berth.dev/berth/internal/notify/webhook": {"NewSender"},
	"berth.dev/berth/internal/gateway":        {"NewPublisher"},
	"berth.dev/berth/internal/live":           {"NewHub", "NewCoalescer"},
}

// offline are functions of the hosts that run no engine: commands run while
// the server is stopped (berth admin rotate-seal-key opens the platform
// alone to re-seal kubeconfigs in one audited transaction).
var offline = map[string]bool{"RotateSealKey": true}

func TestServerAndBenchmarksRunTheOneAssembly(t *testing.T) {
	t.Parallel()
	for _, dir := range hosts {
		calls := packageCalls(t, dir)
		if !calls["berth.dev/berth/internal/engine.New"] {
			t.Errorf("%s does not build the engine with engine.New", dir)
		}
		for pkg, funcs := range assembling {
			for _, f := range funcs {
				if calls[pkg+"."+f] {
					t.Errorf("%s calls %s.%s: it assembles part of the engine itself instead of using engine.New", dir, pkg, f)
				}
			}
		}
	}
}

// packageCalls returns every package-level function of another package
// that the non-test Go files in dir refer to, as "import/path.Name".
func packageCalls(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		imports := map[string]string{} // local name → path
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			name := path[strings.LastIndex(path, "/")+1:]
			if im.Name != nil {
				name = im.Name.Name
			}
			imports[name] = path
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.FuncDecl); ok && offline[fd.Name.Name] {
				return false
			}
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil && imports[id.Name] != "" {
				refs[imports[id.Name]+"."+sel.Sel.Name] = true
			}
			return true
		})
	}
	if len(refs) == 0 {
		t.Fatalf("%s: no Go files with references to other packages", dir)
	}
	return refs
}
