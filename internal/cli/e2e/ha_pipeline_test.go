package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/pipeline/pipelinetest"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/store"
)

// haPipeline is pipelineManifest whose production stage deploys nowhere
// and needs no approval: a run ends Succeeded once its version is made.
var haPipeline = strings.Replace(pipelineManifest, ", approval: required, environment: dev}", "}", 1)

// haBank is the bank of the pipeline test: no environment, so no cluster
// is needed.
const haBank = `apiVersion: berth.dev/v1
kind: ResourceTier
metadata: {name: small}
spec: {requests: {cpu: 100m, memory: 128Mi}}
---
apiVersion: berth.dev/v1
kind: Tenant
metadata: {name: bank}
---
apiVersion: berth.dev/v1
kind: Project
metadata: {name: pay, tenant: bank}
---
apiVersion: berth.dev/v1
kind: Application
metadata: {name: red-auth, tenant: bank, project: pay}
`

// TestKillingTheLeaderDuringAPipelineBuild runs two servers on one
// PostgreSQL database; the leader runs the pipelines (local executor). A
// run is triggered through the follower and the leader is killed with
// SIGKILL while the run's build is in progress (its clone held by the Git
// server). The follower takes over within the lease and ends the run
// Failed, saying the executor was lost in which step and how to run it
// again, with the step that was running failed and the rest skipped: no
// version was made. Run again as the message says, on the new leader, the
// pipeline builds, pushes and makes its one version; the audit chain
// verifies.
func TestKillingTheLeaderDuringAPipelineBuild(t *testing.T) {
	if haPipeline == pipelineManifest {
		t.Fatal("haPipeline still deploys to dev after an approval: pipelineManifest changed")
	}
	bin := buildBerth(t)
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig") // no cluster: nothing deploys
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lead, rest := leaderOf(t, replicaSet(t, kubeconfig, bin, 2), 30*time.Second)
	follower := rest[0]
	b := cliOn(t, follower, dir, "follower")
	b.must(haBank, []string{"apply", "-f", "-"}, "Application/red-auth")

	git := pipelinetest.StartGit(t)
	registry := pipelinetest.StartRegistry(t)
	repo := git.NewRepo("red-auth", pipelinetest.HelloGo("red-auth v1"))
	m := strings.NewReplacer("REPO", repo.URL, "REGISTRY", registry).Replace(haPipeline)
	b.must(m, []string{"pipeline", "apply", "-f", "-"}, "Pipeline/red-auth-ci created")

	release := git.Hold() // the clone waits: the build is in progress
	b.must("", []string{"pipeline", "run", "red-auth-ci", "--branch", "main"}, "Run 1 of red-auth-ci queued")
	deadline := time.Now().Add(2 * time.Minute)
	for !stepIs(runOf(t, b, "1"), pipeline.StepClone, pipeline.Running) {
		if time.Now().After(deadline) {
			t.Fatalf("run 1 never began its clone: %+v", runOf(t, b, "1"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	lead.kill()
	killed := time.Now()
	if r := lead.storedRun(1); r.State != pipeline.Running || !stepIs(r, pipeline.StepClone, pipeline.Running) {
		t.Fatalf("the leader was killed with run 1 %s, steps %+v; want running its clone", r.State, r.Steps)
	}
	takesOver(t, follower, killed)

	lost := waitRun(t, b, "1", pipeline.Failed)
	for _, want := range []string{"executor lost", "stopped during step clone", "(run it again: berth pipeline run red-auth-ci --"} {
		if !strings.Contains(lost.Message, want) {
			t.Errorf("run 1 ended with %q; want it to say %q", lost.Message, want)
		}
	}
	wantSteps := map[string]pipeline.State{pipeline.StepClone: pipeline.Failed, pipeline.StepBuild: pipeline.Skipped,
		pipeline.StepPush: pipeline.Skipped, pipeline.StepVersion: pipeline.Skipped, "production": pipeline.Skipped}
	for _, s := range lost.Steps {
		if s.State != wantSteps[s.Name] {
			t.Errorf("step %s of the lost run is %s, want %s", s.Name, s.State, wantSteps[s.Name])
		}
	}
	if lost.Version != "" || lost.Digest != "" {
		t.Errorf("the lost run recorded version %q, digest %q; it never pushed", lost.Version, lost.Digest)
	}
	b.must("", []string{"pipeline", "show", "red-auth-ci", "1"}, "executor lost")

	// Run again as the message says, on the new leader.
	release()
	again := strings.Fields(between(lost.Message, "(run it again: berth ", ")"))
	b.must("", again, "Run 2 of red-auth-ci queued")
	built := waitRun(t, b, "2", pipeline.Succeeded)
	var versions []struct{ Name, Digest string }
	if err := json.Unmarshal([]byte(b.must("", []string{"get", "versions", "--app", "red-auth", "-o", "json"})), &versions); err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 || versions[0].Name != built.Version || versions[0].Digest != built.Digest {
		t.Errorf("versions %+v; want only run 2's %s@%s", versions, built.Version, built.Digest)
	}
	b.must("", []string{"audit", "list", "--action", "pipeline.finish"}, "run 1 failed: executor lost", "run 2 succeeded")
	b.must("", []string{"audit", "verify"}, "OK")
}

// stepIs reports whether r's step name is in state st.
func stepIs(r pipeline.Run, name string, st pipeline.State) bool {
	s, _ := r.Step(name)
	return s != nil && s.State == st
}

// storedRun reads run n of bank/pay/red-auth-ci from the database of the
// killed server: what it had committed when it died.
func (p *process) storedRun(n int64) pipeline.Run {
	p.t.Helper()
	var r pipeline.Run
	p.view(fmt.Sprintf("run %d", n), func(tx platform.Tx) (err error) {
		r, err = tx.GetRun(p.t.Context(), pipeline.RunKey{Key: pipeline.Key{Tenant: "bank", Project: "pay", Name: "red-auth-ci"}, Number: n})
		return err
	})
	return r
}

// view runs fn in a read transaction on the database of the (killed)
// server p, failing the test on an error reading what.
func (p *process) view(what string, fn func(tx platform.Tx) error) {
	p.t.Helper()
	st, err := store.Open(p.t.Context(), p.dataDir, p.database)
	if err != nil {
		p.t.Fatalf("open the killed server's database: %v", err)
	}
	defer st.Close()
	if err := st.View(p.t.Context(), fn); err != nil {
		p.t.Fatalf("read %s from the killed server's database: %v", what, err)
	}
}
