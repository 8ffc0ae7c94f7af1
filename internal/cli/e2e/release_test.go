package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var orderID = regexp.MustCompile(`ro-\d{8}-[a-z0-9]{6}`)

// releaseApps is four applications of bank/pay, each with v1, v2 and a v2
// whose pods crash-loop in the local cluster.
func releaseApps(apps ...string) string {
	var b strings.Builder
	for _, app := range apps {
		fmt.Fprintf(&b, `---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: %[1]s, tenant: bank, project: pay}
spec: {version: {name: v1, image: registry.local/%[1]s:1, tier: small, orchestration: {replicas: 1}}}
`, app)
	}
	return b.String()
}

func versionFile(t *testing.T, dir, app, name, simulate string) string {
	t.Helper()
	labels := ""
	if simulate != "" {
		labels = ", podLabels: {berth.dev/simulate: " + simulate + "}"
	}
	file := filepath.Join(dir, app+"-"+name+".yaml")
	doc := fmt.Sprintf(`apiVersion: berth.dev/v1
kind: Application
metadata: {name: %[1]s, tenant: bank, project: pay}
spec: {version: {name: %[2]s, image: registry.local/%[1]s:%[2]s, tier: small, orchestration: {replicas: 1%[3]s}}}
`, app, name, labels)
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestReleaseOrdersFromTheCLI walks a release manager through the CLI: a
// staged order succeeds; one with a crash-looping version rolls every
// service back; a succeeded order's chosen item is rolled back by hand.
func TestReleaseOrdersFromTheCLI(t *testing.T) {
	apps := []string{"gw", "auth", "ledger", "fees"}
	b, _, _ := onCluster(t, "bank-pay-rel", releaseApps(apps...))
	dir := t.TempDir()
	for _, app := range apps {
		b.must("", []string{"apply", "-f", versionFile(t, dir, app, "v2", "")})
		b.must("", []string{"apply", "-f", versionFile(t, dir, app, "v2-crash", "crash-loop")})
		b.must("", []string{"app", "deploy", app, "v1", "--env", "dev"})
	}
	b.eventually(2*time.Minute, []string{"app", "list", "--env", "dev"}, "gw", "auth", "ledger", "fees")
	for _, app := range apps {
		b.eventually(2*time.Minute, []string{"app", "status", app, "--env", "dev"}, "Running")
	}

	out := b.must("", []string{"release", "create", "--env", "dev", "--title", "fees v2", "--ticket", "CHG-42",
		"--stage", "ledger=v2", "--stage", "auth=v2,fees=v2", "--stage", "gw=v2"}, "created: Approved")
	good := orderID.FindString(out)
	b.must("", []string{"release", "start", good}, "Running")
	out = b.must("", []string{"release", "status", good, "--wait"}, "Succeeded", "done 4 / deploying 0 / failed 0")
	for _, col := range []string{"APPLICATION", "VERSION", "BEFORE", "DEPENDS ON", "STATE"} {
		if !strings.Contains(out, col) {
			t.Errorf("status lacks column %s:\n%s", col, out)
		}
	}
	b.must("", []string{"release", "list"}, "ID", "TICKET", "PROGRESS", good, "CHG-42", "Succeeded")

	file := filepath.Join(dir, "order.yaml")
	order := `apiVersion: berth.dev/v1
kind: ReleaseOrder
metadata: {tenant: bank, project: pay}
spec:
  environment: dev
  title: crash on purpose
  ticket: CHG-43
  deadline: 2m
  stages:
  - [{application: ledger, version: v1}]
  - [{application: auth, version: v2-crash}, {application: fees, version: v1}]
  - [{application: gw, version: v1}]
`
	if err := os.WriteFile(file, []byte(order), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := orderID.FindString(b.must("", []string{"release", "create", "-f", file}, "created"))
	b.must("", []string{"release", "start", bad})
	out, err := b.run("", "release", "status", bad, "--wait")
	if err == nil || !strings.Contains(out, "RolledBack") || !strings.Contains(out, "CrashLoopBackOff") {
		t.Fatalf("crash order: %v\n%s", err, out)
	}
	for _, app := range apps {
		b.eventually(2*time.Minute, []string{"app", "list", "--env", "dev"}, app)
		st := b.eventually(2*time.Minute, []string{"app", "status", app, "--env", "dev"}, "Running")
		if !strings.Contains(st, "v2") {
			t.Errorf("%s after rollback:\n%s", app, st)
		}
	}

	out = b.must("", []string{"release", "rollback", good, "--items", "fees", "--reason", "fee rounding"}, "rollback order")
	back := orderID.FindString(out)
	b.must("", []string{"release", "status", back, "--wait"}, "Succeeded", "ROLLS BACK")
	b.must("", []string{"release", "status", good}, "ROLLED BACK BY")
	b.eventually(time.Minute, []string{"app", "status", "fees", "--env", "dev"}, "Running", "v1")

	b.must("", []string{"audit", "list", "--action", "release."}, "release.create", "release.start", "release.failed",
		"release.item-rollback", "release.rolled-back", "release.rollback")
	b.must("", []string{"audit", "verify"}, "OK")
}

// TestTheREADMEReleaseStepsWork runs the README tour's release steps with the
// example files as shipped.
func TestTheREADMEReleaseStepsWork(t *testing.T) {
	b, _, _ := onCluster(t, "bank-pay-readme", "")
	b.must("", []string{"app", "deploy", "red-auth", "v1", "--env", "dev"})
	b.must("", []string{"apply", "-f", "../../../examples/bank-v2.yaml"}, "Application/blue-ledger")
	id := orderID.FindString(b.must("", []string{"release", "create", "-f", "../../../examples/release-order.yaml"}, "created: Approved"))
	b.must("", []string{"release", "start", id}, "Running")
	out := b.must("", []string{"release", "status", id, "--wait"}, "Succeeded", "done 2 / deploying 0 / failed 0")
	if !strings.Contains(out, "(none)") {
		t.Errorf("blue-ledger was not deployed before; status should say so:\n%s", out)
	}
}
