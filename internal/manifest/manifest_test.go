package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/resource"
)

const good = `# platform state in Git
apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: bank}
spec: {displayName: Retail bank}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: pay, tenant: bank}
---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: red-auth, tenant: bank, project: pay}
spec:
  version: {name: v1, image: "registry.local/red-auth:1.0", tier: small, orchestration: {replicas: 2}}
---
# an empty document is skipped
---
apiVersion: berth.dev/v1
kind: Quota
metadata: {tenant: bank}
spec:
  hard: {cpu: "8", memory: 16Gi}
`

func TestDecodeGood(t *testing.T) {
	t.Parallel()
	objs, err := Decode([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Object{
		{APIVersion, KindTenant, Metadata{Name: "bank"}, &TenantSpec{DisplayName: "Retail bank"}},
		{APIVersion, KindProject, Metadata{Name: "pay", Tenant: "bank"}, &ProjectSpec{}},
		{APIVersion, KindApplication, Metadata{Name: "red-auth", Tenant: "bank", Project: "pay"}, &ApplicationSpec{Version: &VersionSpec{Name: "v1", Image: "registry.local/red-auth:1.0", Tier: "small", Orchestration: apps.Orchestration{Replicas: 2}}}},
		{APIVersion, KindQuota, Metadata{Tenant: "bank"}, &QuotaSpec{Hard: resource.List{
			resource.CPU: resource.Units(8), resource.Memory: resource.Units(16 << 30)}}},
	}
	if diff := cmp.Diff(want, objs); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string // each error, as Error() prints it
	}{
		{
			"an unknown spec field is named by its path",
			"apiVersion: berth.dev/v1\nkind: Application\nmetadata: {name: red-auth, tenant: bank, project: pay}\nspec: {version: {name: v1, image: x, tier: small, orchestration: {replicass: 3}}}\n",
			[]string{"document 1 (Application red-auth): spec.version.orchestration.replicass: unknown field"},
		},
		{
			"an unknown top-level field is named",
			"apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: bank}\nstatus: {}\n",
			[]string{"document 1 (Tenant bank): status: unknown field"},
		},
		{
			"the second document's error names its index",
			"apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: bank}\n---\napiVersion: berth.dev/v1\nkind: Project\nmetadata: {name: Pay_1, tenant: bank}\n",
			[]string{`document 2 (Project Pay_1): metadata.name: must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit), got "Pay_1"`},
		},
		{
			"a negative quantity is refused",
			"apiVersion: berth.dev/v1\nkind: Quota\nmetadata: {tenant: bank}\nspec: {hard: {cpu: -1}}\n",
			[]string{`document 1 (Quota): spec.hard.cpu: quantity "-1": want a non-negative number such as 500m, 2 or 4Gi`},
		},
		{
			"an unknown kind is refused",
			"apiVersion: berth.dev/v1\nkind: Pod\nmetadata: {name: x}\n",
			[]string{`document 1 (Pod x): kind: unknown kind "Pod", want one of Cluster, ResourceTier, Tenant, Project, Quota, Member, GroupBinding, Environment, Application, GrayPlan, ReleaseOrder, PortPool, PortGrant, NetworkIsolation, TerminalPolicy, ConfigItem, AlertReceiver, AlertRule, SLO, AppInstall, Pipeline`},
		},
		{
			"a terminal policy allowing what no restricted session can run is refused field by field",
			"apiVersion: berth.dev/v1\nkind: TerminalPolicy\nmetadata: {name: log-only}\nspec: {role: viewer, mode: restricted, commands: [tail, find], paths: [/var/log/../etc]}\n",
			[]string{`document 1 (TerminalPolicy log-only): spec.commands[1]: "find" is not a command restricted sessions can run; want one of cat, grep, head, ls, tail, wc; spec.paths[0]: must be a clean path, optionally ending in /**, got "/var/log/../etc"`},
		},
		{
			"a release order item's bad check is named by its path",
			"apiVersion: berth.dev/v1\nkind: ReleaseOrder\nmetadata: {tenant: bank, project: pay}\nspec: {environment: prod, title: t, items: [{application: a, version: v1, checks: [{name: p99, template: latency-p99, threshold: \"300\", interval: 1m, samples: 3}]}]}\n",
			[]string{`document 1 (ReleaseOrder): spec.items[0].checks[0].threshold: must be a duration with its unit, such as "300ms" or "1.5s", got "300"`},
		},
		{
			"a wrong apiVersion is refused",
			"apiVersion: v1\nkind: Tenant\nmetadata: {name: bank}\n",
			[]string{`document 1 (Tenant bank): apiVersion: must be berth.dev/v1, got "v1"`},
		},
		{
			"a string where a mapping belongs is refused",
			"apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: bank\n",
			[]string{"document 1 (Tenant): metadata: must be an object"},
		},
		{
			"a project without its tenant is refused",
			"apiVersion: berth.dev/v1\nkind: Project\nmetadata: {name: pay}\n",
			[]string{"document 1 (Project pay): metadata.tenant: must not be empty"},
		},
		{
			"a role at the wrong scope is refused",
			"apiVersion: berth.dev/v1\nkind: Member\nmetadata: {tenant: bank}\nspec: {user: ann, role: platform-admin}\n",
			[]string{"document 1 (Member): spec.role: role platform-admin cannot be granted at tenant scope"},
		},
		{
			"every bad document is reported",
			"kind: Tenant\nmetadata: {name: a}\n---\napiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: b, project: x}\n",
			[]string{
				`document 1 (Tenant a): apiVersion: must be berth.dev/v1, got ""`,
				"document 2 (Tenant b): metadata.project: must not be set for this kind; metadata.tenant: must be set when metadata.project is",
			},
		},
		{
			"a YAML error names the line of the file",
			"apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: a}\n---\napiVersion: berth.dev/v1\nkind: [\n",
			[]string{"document 2: (document): not valid YAML: yaml: line 6: did not find expected node content"},
		},
		{
			"invalid YAML is refused",
			"apiVersion: [\n",
			[]string{"document 1: (document): not valid YAML: yaml: line 1: did not find expected node content"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Decode([]byte(tt.in))
			if err == nil {
				t.Fatal("Decode succeeded, want an error")
			}
			var got []string
			for _, e := range unjoin(err) {
				var me *Error
				if !errors.As(e, &me) {
					t.Fatalf("error %v is not a *manifest.Error", e)
				}
				got = append(got, me.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestSplitKeepsIndexes(t *testing.T) {
	t.Parallel()
	docs := Split([]byte("a: 1\n---\n---\nb: 2\n--- # trailing\nc: 3"))
	var got []string
	for _, d := range docs {
		got = append(got, strings.TrimSpace(string(d)))
	}
	if diff := cmp.Diff([]string{"a: 1", "", "b: 2", "c: 3"}, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("apiVersion: berth.dev/v1\nkind: ResourceTier\nmetadata: {name: s}\nspec: {requests: {cpu: 500m}}\n"))
	f.Add([]byte("apiVersion: berth.dev/v1\nkind: Application\nmetadata: {name: a, tenant: b, project: c}\n" +
		"spec: {version: {name: v1, image: x, tier: s, orchestration: {replicas: -1, ports: [{name: http, containerPort: 8080}]}}}\n"))
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("kind: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode(data)
		if err != nil {
			for _, e := range unjoin(err) {
				var me *Error
				if !errors.As(e, &me) && !strings.Contains(e.Error(), "limit") {
					t.Fatalf("error %v is neither a *manifest.Error nor the size limit", e)
				}
			}
			return
		}
		for _, o := range objs {
			if err := Validate(o); err != nil {
				t.Fatalf("decoded object fails validation: %v", err)
			}
		}
	})
}

// TestExamplesDecode keeps the files the README tour applies valid.
func TestExamplesDecode(t *testing.T) {
	for _, name := range []string{"bank.yaml", "gray.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, o := range objs {
			if err := Validate(o); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// An AppInstall decodes strictly: values are a mapping, an unknown field
// is named.
func TestDecodeAppInstall(t *testing.T) {
	objs, err := Decode([]byte("apiVersion: berth.dev/v1\nkind: AppInstall\nmetadata: {name: cache, tenant: bank, project: channels}\n" +
		"spec: {environment: test, chart: redis, version: 1.0.0, values: {maxmemory: 300mb, persistence: {enabled: true}}}\n"))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode: %v %v", objs, err)
	}
	s, ok := objs[0].Spec.(*AppInstallSpec)
	if !ok || s.Chart != "redis" || s.Values["maxmemory"] != "300mb" {
		t.Fatalf("spec %#v", objs[0].Spec)
	}
	_, err = Decode([]byte("apiVersion: berth.dev/v1\nkind: AppInstall\nmetadata: {name: cache, tenant: bank, project: channels}\n" +
		"spec: {environment: test, chart: redis, versoin: 1.0.0}\n"))
	if err == nil || !strings.Contains(err.Error(), "spec.versoin") {
		t.Fatalf("a misspelt field: %v, want it named", err)
	}
}
