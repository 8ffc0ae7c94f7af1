package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// # Tekton
//
// The Tekton Pipelines controller (github.com/tektoncd/pipeline's
// cmd/controller, built by build/components/tekton/build.sh) runs beside a
// local cluster on demand — only the tests of Berth's Tekton executor
// start it, not every cluster. It runs out of cluster with the admin
// kubeconfig, as one replica without leader election, against Tekton's
// CRDs installed at their storage version alone (v1 for Tasks, TaskRuns,
// Pipelines and PipelineRuns) with conversion None: the local cluster has
// no admission or conversion webhooks, and the controller defaults and
// validates what it reconciles itself. Its pods are completed by kwok's
// berth-tekton-* stages (stages.yaml.tmpl), which write what Tekton's
// entrypoint would: each step container's termination message.

// TektonEnv names the environment variable that points at the directory of
// the built Tekton controller and its CRDs.
const TektonEnv = "BERTH_TEKTON_DIR"

// TektonNamespace is the controller's system namespace: its ConfigMaps live
// there.
const TektonNamespace = "tekton-pipelines"

// tektonConfigMaps are the ConfigMaps the controller reads from its
// namespace at start (knative's sharedmain: logging, observability, leader
// election) or watches (Tekton's config store: defaults, feature flags,
// metrics, SPIRE, events, tracing, wait backoff); a watched one that is
// missing stops the controller. Empty ones mean Tekton's defaults.
var tektonConfigMaps = []string{
	"config-defaults", "feature-flags", "config-events", "config-logging", "config-observability",
	"config-leader-election-controller", "config-spire", "config-tracing", "config-wait-exponential-backoff",
	"config-registry-cert", "config-info",
}

// tektonImages are the images the controller puts in its pods (its flags
// require them). kwok pulls nothing and runs nothing, so they are names only.
var tektonImages = map[string]string{
	"entrypoint-image":        "tekton.local/entrypoint",
	"nop-image":               "tekton.local/nop",
	"sidecarlogresults-image": "tekton.local/sidecarlogresults",
	"workingdirinit-image":    "tekton.local/workingdirinit",
	"shell-image":             "tekton.local/busybox",
	"shell-image-win":         "tekton.local/powershell",
}

// FindTekton returns the directory holding the built Tekton controller: the
// one named by BERTH_TEKTON_DIR, or else the one
// build/components/tekton/build.sh of the Berth source tree containing dir
// prints, building it first if this machine has not yet. Build progress
// goes to progress.
func FindTekton(ctx context.Context, getenv func(string) string, dir string, progress io.Writer) (string, error) {
	if d := getenv(TektonEnv); d != "" {
		return d, nil
	}
	script, err := findBuildScript(dir)
	if err != nil {
		return "", err
	}
	script = filepath.Join(filepath.Dir(script), "tekton", "build.sh")
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, script)
	cmd.Stdout, cmd.Stderr = &out, progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the Tekton controller with %s: %w", script, err)
	}
	return strings.TrimSpace(out.String()), nil
}

// Tekton is a running Tekton controller.
type Tekton struct {
	proc *process
	// Log is the path of its log.
	Log string
}

// StartTekton installs Tekton's configuration into c and starts the
// controller found in dir (FindTekton); Tekton's CRDs (TektonCRDs) must be
// installed first, each reduced to its storage version by
// TektonStorageVersionOnly. It returns once the controller answers its
// readiness probe; on error nothing it started runs.
func (c *Cluster) StartTekton(ctx context.Context, dir string) (*Tekton, error) {
	bin := filepath.Join(dir, "controller")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("tekton controller: %w (build it with build/components/tekton/build.sh)", err)
	}
	if err := c.tektonConfig(ctx); err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"SYSTEM_NAMESPACE="+TektonNamespace,
		"KUBERNETES_MIN_VERSION=v1.28.0",
		"CONFIG_DEFAULTS_NAME=config-defaults",
		"CONFIG_LOGGING_NAME=config-logging",
		"CONFIG_OBSERVABILITY_NAME=config-observability",
		"CONFIG_FEATURE_FLAGS_NAME=feature-flags",
		"CONFIG_LEADERELECTION_NAME=config-leader-election-controller",
		"CONFIG_SPIRE=config-spire",
		"METRICS_DOMAIN=tekton.dev/pipeline",
		"PROBES_PORT="+strconv.Itoa(ports[0]),
		"PROFILING_PORT="+strconv.Itoa(ports[1]),
	)
	args := []string{"-kubeconfig=" + c.Kubeconfig(), "-disable-ha", "-threads-per-controller=4"}
	for flag, image := range tektonImages {
		args = append(args, "-"+flag+"="+image)
	}
	logPath := filepath.Join(c.opts.Dir, "logs", "tekton-controller.log")
	proc, err := startProcess("tekton-controller", bin, args, env, logPath)
	if err != nil {
		return nil, err
	}
	t := &Tekton{proc: proc, Log: logPath}
	if err := waitHealthy(ctx, proc, "http://127.0.0.1:"+strconv.Itoa(ports[0])+"/readiness", nil, 2*time.Minute); err != nil {
		t.Stop()
		return nil, err
	}
	c.opts.Log.Info("component ready", "component", "tekton-controller", "pid", proc.pid())
	return t, nil
}

// Stop stops the controller.
func (t *Tekton) Stop() { t.proc.stop(10 * time.Second) }

// Exited reports whether the controller has exited, and why.
func (t *Tekton) Exited() error {
	if !t.proc.exited() {
		return nil
	}
	return t.proc.exitError()
}

// TektonCRDs returns the YAML files of Tekton's CRDs in dir (FindTekton).
func TektonCRDs(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("tekton CRDs: none in %s (%v)", dir, err)
	}
	return files, nil
}

// TektonStorageVersionOnly keeps crd's storage version alone, served, and
// sets its conversion to None: with one version there is nothing to
// convert, and no webhook to do it.
func TektonStorageVersionOnly(crd *unstructured.Unstructured) error {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var keep []any
	for _, v := range versions {
		if m, _ := v.(map[string]any); m["storage"] == true {
			m["served"] = true
			keep = append(keep, m)
		}
	}
	if len(keep) != 1 {
		return fmt.Errorf("CRD %s: %d storage versions, want 1", crd.GetName(), len(keep))
	}
	if err := unstructured.SetNestedSlice(crd.Object, keep, "spec", "versions"); err != nil {
		return err
	}
	return unstructured.SetNestedMap(crd.Object, map[string]any{"strategy": "None"}, "spec", "conversion")
}

// tektonConfig creates the controller's namespace and its ConfigMaps,
// leaving any that exist as they are.
func (c *Cluster) tektonConfig(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return err
	}
	_, err = client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: TektonNamespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", TektonNamespace, err)
	}
	for _, name := range tektonConfigMaps {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: TektonNamespace}}
		_, err := client.CoreV1().ConfigMaps(TektonNamespace).Create(ctx, cm, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("configmap %s/%s: %w", TektonNamespace, name, err)
		}
	}
	return nil
}
