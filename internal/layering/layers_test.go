package layering

// The layers of Berth, the same statement as the "Layers" table of
// docs/architecture.md (TestDocumentStatesTheseLayers keeps the two equal).
// Every package of the module is in exactly one layer; a package pattern
// ending in "/..." takes the folder and everything under it.
//
// mayImport names the layers, and the outside groups, a package of the
// layer may import directly; any other package of the module, or of a
// group, is refused. neverReaches names the layers and groups that no
// chain of imports from the layer may reach. Only the imports of non-test
// files count: tests may use what they need (a real store, a real cluster).
var layers = []layer{
	{
		name: "base",
		packages: []string{"internal/change", "internal/clock", "internal/config", "internal/i18n", "internal/keyfile",
			"internal/resource", "internal/seal", "internal/version", "catalog"},
		mayImport:    []string{"base"},
		neverReaches: []string{"net/http", "SQL", "client-go"},
	},
	{
		name: "domain",
		packages: []string{"internal/apps", "internal/audit", "internal/authz", "internal/deploy",
			"internal/gray", "internal/health", "internal/identity", "internal/live", "internal/manifest", "internal/netasset", "internal/notify",
			"internal/release", "internal/sso", "internal/tenancy", "internal/terminal", "internal/traffic",
			"internal/configcenter", "internal/podlog", "internal/leader", "internal/pipeline", "internal/alert", "internal/analysis",
			"internal/appstore", "internal/slo", "internal/dashboard"},
		mayImport:    []string{"domain", "base"},
		neverReaches: []string{"net/http", "SQL", "client-go", "application", "store", "api"},
	},
	{
		name: "provider",
		packages: []string{"internal/traffic/gateway", "internal/traffic/gatewayapi", "internal/traffic/istio",
			"internal/traffic/providers", "internal/traffic/translate"},
		mayImport:    []string{"provider", "domain", "base", "gateway"},
		neverReaches: []string{"SQL", "client-go", "application", "store", "api"},
	},
	{
		name:         "executor",
		packages:     []string{"internal/pipeline/local"},
		mayImport:    []string{"domain", "base", "net/http"},
		neverReaches: []string{"SQL", "client-go", "application", "store", "api"},
	},
	{
		name:         "clusterexecutor",
		packages:     []string{"internal/pipeline/tekton"},
		mayImport:    []string{"domain", "base", "kube", "client-go"},
		neverReaches: []string{"SQL", "application", "store", "api"},
	},
	{
		name:         "signon",
		packages:     []string{"internal/sso/ldap", "internal/sso/oidc"},
		mayImport:    []string{"domain", "base", "net/http"},
		neverReaches: []string{"SQL", "client-go", "application", "store", "api"},
	},
	{
		name:         "application",
		packages:     []string{"internal/platform"},
		mayImport:    []string{"domain", "base"},
		neverReaches: []string{"net/http", "SQL", "client-go", "store", "api"},
	},
	{
		name:         "store",
		packages:     []string{"internal/store"},
		mayImport:    []string{"application", "domain", "base", "SQL"},
		neverReaches: []string{"net/http", "client-go", "api"},
	},
	{
		name:         "kube",
		packages:     []string{"internal/kube"},
		mayImport:    []string{"domain", "base", "client-go"},
		neverReaches: []string{"SQL", "application", "store", "api"},
	},
	{
		name:         "controller",
		packages:     []string{"internal/controller"},
		mayImport:    []string{"application", "domain", "provider", "gateway", "kube", "base", "client-go"},
		neverReaches: []string{"SQL", "store", "api"},
	},
	{
		name: "gateway",
		packages: []string{"internal/gateway", "internal/gateway/breaker", "internal/gateway/jwtauth",
			"internal/gateway/ratelimit"},
		mayImport:    []string{"gateway", "domain", "base", "net/http"},
		neverReaches: []string{"SQL", "client-go", "application", "store", "api"},
	},
	{
		name:         "wire",
		packages:     []string{"internal/api/apitypes"},
		mayImport:    []string{"domain", "base"},
		neverReaches: []string{"net/http", "SQL", "client-go", "application", "store", "api"},
	},
	{
		name:         "api",
		packages:     []string{"internal/api"},
		mayImport:    []string{"application", "wire", "domain", "base", "net/http"},
		neverReaches: []string{"SQL", "store"},
	},
	{
		name:         "server",
		packages:     []string{"internal/server"},
		mayImport:    []string{"base", "net/http"},
		neverReaches: []string{"client-go", "application", "store", "api"},
	},
	{
		name:         "console",
		packages:     []string{"internal/console", "web"},
		mayImport:    []string{"base", "net/http"},
		neverReaches: []string{"SQL", "client-go", "domain", "application", "store", "api"},
	},
	{
		name:         "outbound",
		packages:     []string{"internal/notify/webhook", "internal/notify/email", "internal/alert/prom", "internal/analysis/prom", "internal/appstore/repo"},
		mayImport:    []string{"application", "domain", "base", "net/http"},
		neverReaches: []string{"SQL", "client-go", "store", "api"},
	},
	{
		name:         "engine",
		packages:     []string{"internal/engine"},
		mayImport:    []string{"application", "domain", "base", "controller", "kube", "gateway", "outbound"},
		neverReaches: []string{"SQL", "store", "api"},
	},
	{
		name:         "client",
		packages:     []string{"internal/client"},
		mayImport:    []string{"base", "net/http"},
		neverReaches: []string{"SQL", "client-go", "domain", "application", "store", "api"},
	},
	{
		name: "cli",
		packages: []string{"internal/cli", "internal/cli/appcmd", "internal/cli/applycmd", "internal/cli/auditcmd", "internal/cli/configcmd",
			"internal/cli/contextcmd", "internal/cli/deletecmd", "internal/cli/describecmd", "internal/cli/floorcmd",
			"internal/cli/getcmd", "internal/cli/grantcmd", "internal/cli/graycmd", "internal/cli/kind",
			"internal/cli/logincmd", "internal/cli/netcmd", "internal/cli/orgcmd", "internal/cli/releasecmd",
			"internal/cli/tokencmd", "internal/cli/usercmd", "internal/cli/versioncmd",
			"internal/cli/execcmd", "internal/cli/sessioncmd", "internal/cli/logscmd", "internal/cli/pipelinecmd", "internal/cli/alertcmd",
			"internal/cli/storecmd", "internal/cli/slocmd", "internal/cli/metricscmd"},
		mayImport:    []string{"cli", "client", "wire", "base", "net/http"},
		neverReaches: []string{"SQL", "client-go", "application", "store", "api"},
	},
	{
		name: "command",
		packages: []string{"internal/cli/admincmd", "internal/cli/clustercmd", "internal/cli/gatewaycmd",
			"internal/cli/servercmd"},
		mayImport: []string{"command", "cli", "api", "wire", "engine", "store", "server", "console", "outbound", "gateway", "kube", "signon", "executor",
			"clusterexecutor", "localcluster", "application", "domain", "base", "net/http"},
	},
	{
		name:         "localcluster",
		packages:     []string{"internal/localcluster"},
		mayImport:    []string{"base", "client-go", "net/http"},
		neverReaches: []string{"SQL", "application", "store", "api"},
	},
	{
		name: "testsupport",
		packages: []string{"internal/cli/e2e", "internal/cli/e2e/console", "internal/cli/e2e/grayrelease", "internal/helmchart", "internal/localcluster/clustertest",
			"internal/logtest", "internal/openapicheck", "internal/promtest", "internal/sso/ldap/slapdtest", "internal/store/pgtest", "internal/store/storetest", "internal/pipeline/pipelinetest", "internal/tlstest",
			"internal/traffic/traffictest"},
		mayImport: []string{"testsupport", "store", "kube", "localcluster", "application", "domain", "base",
			"net/http", "SQL", "client-go"},
	},
	{
		name:      "tools",
		packages:  []string{"internal/layering", "internal/testreport", "scripts/..."},
		mayImport: []string{"tools"},
	},
	{
		name:      "main",
		packages:  []string{"cmd/..."},
		mayImport: []string{"cli", "command"},
	},
	{
		name:     "bench",
		packages: []string{"bench/..."},
		mayImport: []string{"bench", "engine", "api", "gateway", "wire", "store", "kube", "localcluster", "application", "provider",
			"domain", "testsupport", "base", "net/http", "client-go"},
	},
}

// groups are the outside packages whose import is restricted: a package
// path, or a pattern "x/..." that takes x and every package under it.
// database/sql/driver alone is not SQL: value types such as
// github.com/google/uuid implement its interfaces without talking SQL.
var groups = map[string][]string{
	"net/http":  {"net/http/..."},
	"SQL":       {"database/sql", "modernc.org/sqlite/...", "github.com/jackc/pgx/..."},
	"client-go": {"k8s.io/client-go/..."},
}

// exceptions let one package import one more layer or group than its own
// layer may, each with the reason. An exception no import needs is itself
// reported, so a fixed TODO leaves the table.
var exceptions = []exception{
	{
		pkg: "internal/api",
		may: "kube",
		why: "TODO: live status, events and the kubeconfig check reach the cluster driver from the " +
			"transport; move them behind the application layer, and api then never reaches client-go",
	},
	{
		pkg: "internal/cli/applycmd",
		may: "domain",
		why: "checks manifests locally before sending them, so errors name the document and field without a round trip",
	},
	{
		pkg: "internal/cli/auditcmd",
		may: "domain",
		why: "signs audit anchors locally: the auditor's private key never leaves the machine",
	},
	{
		pkg: "internal/cli/orgcmd",
		may: "domain",
		why: "parses the org-unit CSV locally, so errors name the file's lines before anything is sent",
	},
	{
		pkg: "internal/cli/releasecmd",
		may: "domain",
		why: "reads a ReleaseOrder manifest locally with the server's decoder",
	},
	{
		pkg: "bench/netasset",
		may: "controller",
		why: "times one controller's reconcile on its own; everything else assembles controllers " +
			"through internal/engine",
	},
}
