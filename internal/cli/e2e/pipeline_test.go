package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/pipeline/local"
	"berth.dev/berth/internal/pipeline/pipelinetest"
)

const pipelineManifest = `apiVersion: berth.dev/v1
kind: Pipeline
metadata: {name: red-auth-ci}
spec:
  application: red-auth
  source: {repository: REPO, branches: [main]}
  build: {type: go, package: ., image: REGISTRY/bank/red-auth, owner: {user: dora}}
  delivery: {tier: small, orchestration: {replicas: 1, ports: [{name: http, containerPort: 8080}]}}
  stages:
    - {name: production, owner: {group: release-manager}, approval: required, environment: dev}
  webhook: {provider: github}
`

// asUser logs user in with a CLI config of their own and returns their CLI.
func asUser(t *testing.T, url, user, password string) berth {
	t.Helper()
	vars := map[string]string{"BERTH_CONFIG": filepath.Join(t.TempDir(), "config.yaml")}
	b := berth{t: t, getenv: func(k string) string { return vars[k] }}
	b.must(password+"\n", []string{"login", "--server", url, "--username", user, "--password-stdin"}, "Logged in")
	b.must("", []string{"context", "set", "-t", "bank", "-p", "pay"})
	return b
}

// push posts a GitHub push webhook of commit to url, signed with secret.
func push(t *testing.T, url, secret, delivery, commit string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"ref": "refs/heads/main", "after": commit,
		"repository": map[string]any{"clone_url": "ignored"}, "pusher": map[string]any{"name": "rob"}, "sender": map[string]any{"login": "rob"}})
	req, err := http.NewRequestWithContext(t.Context(), "POST", url+"/api/v1/webhooks/bank/pay/red-auth-ci", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", pipeline.Sign(body, []byte(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

// runOf reads run n of red-auth-ci with b.
func runOf(t *testing.T, b berth, n string) pipeline.Run {
	t.Helper()
	var r pipeline.Run
	if err := json.Unmarshal([]byte(b.must("", []string{"pipeline", "show", "red-auth-ci", n, "-o", "json"})), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitRun polls run n until it is in state want, failing at a final other state.
func waitRun(t *testing.T, b berth, n string, want pipeline.State) pipeline.Run {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		r := runOf(t, b, n)
		if r.State == want {
			return r
		}
		if r.State.Ended() || time.Now().After(deadline) {
			out, _ := b.run("", "pipeline", "show", "red-auth-ci", n)
			t.Fatalf("run %s is %s, want %s:\n%s", n, r.State, want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestPipelineFromAGitPushToAVersionPinnedByDigest is issue #14's path on
// this machine: a Go program committed to a real Git server, a Pipeline
// applied, a signed GitHub push webhook triggering a run that clones,
// builds and pushes the image to a real registry and makes a version of
// it; the production stage waits for a release manager — not the pusher,
// not the pipeline's author — and then deploys it to the cluster, whose
// Deployment runs the image by the digest the registry itself reports.
// A wrongly signed webhook and a replayed delivery are refused and audited.
func TestPipelineFromAGitPushToAVersionPinnedByDigest(t *testing.T) {
	admin, c, ns, url := onClusterAt(t, "bank-pay-ci", "")
	git := pipelinetest.StartGit(t)
	registry := pipelinetest.StartRegistry(t)
	repo := git.NewRepo("red-auth", pipelinetest.HelloGo("red-auth v1"))

	for _, u := range []string{"rob", "rita"} {
		admin.must(u+"-password-123\n", []string{"user", "create", u, "--password-stdin"}, "User "+u+" created")
		admin.must("apiVersion: berth.dev/v1\nkind: Member\nmetadata: {tenant: bank, project: pay}\nspec: {user: "+u+", role: release-manager}\n",
			[]string{"apply", "-f", "-"}, "created")
	}
	manifestFile := filepath.Join(t.TempDir(), "pipeline.yaml")
	m := strings.NewReplacer("REPO", repo.URL, "REGISTRY", registry).Replace(pipelineManifest)
	if err := os.WriteFile(manifestFile, []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	out := admin.must("", []string{"pipeline", "apply", "-f", manifestFile}, "Pipeline/red-auth-ci created (revision 1)", "/api/v1/webhooks/bank/pay/red-auth-ci")
	secret := between(out, "Webhook secret (shown once): ", "\n")
	if len(secret) < 40 {
		t.Fatalf("no webhook secret in:\n%s", out)
	}
	if out := admin.must("", []string{"pipeline", "apply", "-f", manifestFile}, "revision 2"); strings.Contains(out, "secret") {
		t.Errorf("a change showed the secret again:\n%s", out)
	}
	bad := strings.Replace(m, "type: go", "type: ant", 1)
	if out, err := admin.run(bad, "pipeline", "apply", "-f", "-"); err == nil || !strings.Contains(out+err.Error(), "build.type") {
		t.Errorf("an unknown build type: %v\n%s", err, out)
	}

	commit := repo.Commit(pipelinetest.HelloGo("red-auth v2"), "greet v2")
	if code, body := push(t, url, "not-the-secret", "d-1", commit); code != http.StatusUnauthorized {
		t.Fatalf("a wrongly signed webhook answered %d %s", code, body)
	}
	if code, body := push(t, url, secret, "d-2", commit); code != http.StatusAccepted || !strings.Contains(body, "run 1 queued") {
		t.Fatalf("the webhook answered %d %s", code, body)
	}
	if code, body := push(t, url, secret, "d-2", commit); code != http.StatusConflict {
		t.Fatalf("a replayed delivery answered %d %s", code, body)
	}

	rob := asUser(t, url, "rob", "rob-password-123")
	rita := asUser(t, url, "rita", "rita-password-123")
	run := waitRun(t, admin, "1", pipeline.Waiting)
	if run.Trigger.User != "rob" || run.Trigger.Kind != pipeline.Push || run.Commit != commit {
		t.Errorf("trigger %+v, commit %s; want rob's push of %s", run.Trigger, run.Commit, commit)
	}
	admin.must("", []string{"pipeline", "logs", "red-auth-ci", "1", "--step", "build"}, "go build", "over an empty base")

	if out, err := rob.run("", "pipeline", "approve", "red-auth-ci", "1", "production"); err == nil || !strings.Contains(out+err.Error(), "four eyes") {
		t.Errorf("the pusher approved his own run: %v\n%s", err, out)
	}
	if out, err := admin.run("", "pipeline", "approve", "red-auth-ci", "1", "production"); err == nil || !strings.Contains(out+err.Error(), "four eyes") {
		t.Errorf("the pipeline's author (a platform admin) approved: %v\n%s", err, out)
	}
	rita.must("", []string{"pipeline", "approve", "red-auth-ci", "1", "production", "--reason", "CHG-7 reviewed"}, "queued")
	admin.must("", []string{"pipeline", "logs", "red-auth-ci", "1", "--follow"}, "=== step production succeeded", "Run 1 succeeded")
	run = waitRun(t, admin, "1", pipeline.Succeeded)

	// The version pins the digest the registry itself reports for the tag.
	digest, err := local.RemoteDigest(t.Context(), registry+"/bank/red-auth:"+run.Version)
	if err != nil {
		t.Fatal(err)
	}
	var versions []struct {
		Name, Image, Digest, Pipeline string
		Source                        struct{ Repository, Revision, Run string }
	}
	if err := json.Unmarshal([]byte(admin.must("", []string{"get", "versions", "--app", "red-auth", "-o", "json"})), &versions); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range versions {
		if v.Name != run.Version {
			continue
		}
		found = true
		if v.Image != registry+"/bank/red-auth:"+run.Version || v.Digest != digest || v.Source.Revision != commit ||
			v.Source.Repository != repo.URL || v.Pipeline != "red-auth-ci" || v.Source.Run != "tenants/bank/projects/pay/pipelines/red-auth-ci/runs/1" {
			t.Errorf("version %+v; want %s@%s from %s", v, registry+"/bank/red-auth:"+run.Version, digest, commit)
		}
	}
	if !found {
		t.Fatalf("no version %s among %+v", run.Version, versions)
	}

	// The production stage deployed it: the cluster runs the image by digest.
	want := registry + "/bank/red-auth:" + run.Version + "@" + digest
	deadline := time.Now().Add(2 * time.Minute)
	for {
		image := ""
		dep, err := c.Client.AppsV1().Deployments(ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
		if err == nil {
			image = dep.Spec.Template.Spec.Containers[0].Image
		}
		if image == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster's Deployment runs %q (%v); want %s", image, err, want)
		}
		time.Sleep(200 * time.Millisecond)
	}

	audit := admin.must("", []string{"audit", "list", "--action", "pipeline."}, "pipeline.create", "pipeline.trigger", "pipeline.wait", "pipeline.approve", "pipeline.finish")
	for _, w := range []string{"denied", "CHG-7 reviewed", "a replay"} {
		if !strings.Contains(audit, w) {
			t.Errorf("the audit trail lacks %q:\n%s", w, audit)
		}
	}
}
