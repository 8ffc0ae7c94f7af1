package layering

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "berth.dev/berth/"

// rule forbids packages matching a set of imports unless they are allowed.
type rule struct {
	why       string
	imports   []string // import path prefixes the rule is about
	allowedIn []string // package path prefixes (relative to the module) that may import them
}

var rules = []rule{
	{
		why:       "only the store talks SQL",
		imports:   []string{"database/sql", "modernc.org/sqlite", "github.com/jackc/pgx"},
		allowedIn: []string{"internal/store", "bench/"},
	},
	{
		why:       "the store is wired in by the server command; handlers reach it through platform",
		imports:   []string{module + "internal/store"},
		allowedIn: []string{"internal/store", "internal/cli/servercmd", "cmd/", "bench/"},
	},
	{
		why:     "only the cluster driver, controllers and the local cluster use client-go",
		imports: []string{"k8s.io/client-go"},
		allowedIn: []string{"internal/kube", "internal/controller", "internal/localcluster",
			"bench/"},
	},
	{
		why: "the controllers are assembled once, by internal/engine, for the server and the benches alike " +
			"(bench/netasset times one controller's reconcile on its own)",
		imports:   []string{module + "internal/controller"},
		allowedIn: []string{"internal/controller", "internal/engine", "bench/netasset"},
	},
}

// domain packages stay free of transport, storage and cluster code.
var domain = []string{"internal/tenancy", "internal/apps", "internal/audit", "internal/identity",
	"internal/authz", "internal/traffic", "internal/deploy", "internal/gray", "internal/release", "internal/netasset", "internal/pipeline"}

var domainForbidden = []string{"net/http", module + "internal/api", module + "internal/store",
	module + "internal/server", module + "internal/cli", "database/sql", "k8s.io/client-go"}

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages; is the module path right?", len(pkgs))
	}
	return pkgs
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(s, p)) {
			return true
		}
	}
	return false
}

func TestPackagesImportOnlyWhatTheirLayerMay(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			for _, r := range rules {
				if hasPrefix(imp, r.imports) && !hasPrefix(rel, r.allowedIn) {
					t.Errorf("%s imports %s, but %s (allowed in %v)", rel, imp, r.why, r.allowedIn)
				}
			}
			if hasPrefix(rel, domain) && hasPrefix(imp, domainForbidden) {
				t.Errorf("domain package %s imports %s; domain logic stays free of HTTP, SQL and client-go", rel, imp)
			}
		}
	}
}

func TestRulesCatchAViolation(t *testing.T) {
	// The checker itself must be able to fail: a domain package importing SQL.
	bad := pkg{ImportPath: module + "internal/tenancy", Imports: []string{"database/sql"}}
	rel := strings.TrimPrefix(bad.ImportPath, module)
	if !hasPrefix(rel, domain) || !hasPrefix(bad.Imports[0], domainForbidden) || hasPrefix(rel, rules[0].allowedIn) {
		t.Fatal("the rules would let internal/tenancy import database/sql")
	}
}
