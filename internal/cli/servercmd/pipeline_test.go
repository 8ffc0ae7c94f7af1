package servercmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth.dev/berth/internal/config"
	"berth.dev/berth/internal/pipeline/local"
	"berth.dev/berth/internal/pipeline/tekton"
)

// Builds run on this machine unless a build cluster is named; a named one
// builds with Tekton in the namespace given, and a kubeconfig that cannot
// be read stops the server naming the setting.
func TestThePipelineExecutorIsTheServersChoice(t *testing.T) {
	e, err := pipelineExecutor(config.Config{})
	if _, ok := e.(*local.Executor); err != nil || !ok {
		t.Fatalf("no pipelineKubeconfig: %T, %v", e, err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: builds, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: ci, user: {token: t0ken}}]
contexts: [{name: builds, context: {cluster: builds, user: ci}}]
current-context: builds
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err = pipelineExecutor(config.Config{PipelineKubeconfig: kc, PipelineNamespace: "ci"})
	if te, ok := e.(*tekton.Executor); err != nil || !ok || te.Namespace != "ci" {
		t.Fatalf("pipelineKubeconfig: %T %+v, %v", e, e, err)
	}
	_, err = pipelineExecutor(config.Config{PipelineKubeconfig: filepath.Join(t.TempDir(), "missing")})
	if err == nil || !strings.Contains(err.Error(), "pipelineKubeconfig") {
		t.Fatalf("a missing kubeconfig: %v", err)
	}
}
