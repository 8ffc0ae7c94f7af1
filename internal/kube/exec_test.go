package kube_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/localcluster/clustertest"
)

// runningPod creates a one-container pod in ns and waits until kwok runs it.
func runningPod(t *testing.T, c *clustertest.Cluster, ns, name string) {
	t.Helper()
	ctx := t.Context()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example.com/app:1"}}}}
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		t.Fatalf("pod %s/%s never ran: %v", ns, name, err)
	}
}

// TestExecRunsArgvInThePod runs commands through the real API server into
// kwok's ClusterExec, which runs them as local processes.
func TestExecRunsArgvInThePod(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	runningPod(t, c, ns, "web")
	dir, err := os.MkdirTemp(c.ExecDir(), "exec-")
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "app.log")
	if err := os.WriteFile(log, []byte("INFO start\nERROR disk full\nINFO ok\nERROR timeout\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// No stdin: kwok's local exec never closes a command's stdin, so a
	// command reading it would never end there.
	run := func(argv []string, _ string) (string, string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		r := kube.ExecRequest{Namespace: ns, Pod: "web", Container: "app", Argv: argv, Stdout: &out, Stderr: &errOut}
		code, err := kube.Exec(t.Context(), c.RESTConfig(), r)
		if err != nil {
			t.Fatalf("exec %q: %v", argv, err)
		}
		return out.String(), errOut.String(), code
	}
	if out, _, code := run([]string{"tail", "-n", "2", log}, ""); out != "INFO ok\nERROR timeout\n" || code != 0 {
		t.Errorf("tail -n 2 = %q, exit %d; want the last two lines, exit 0", out, code)
	}
	if out, _, code := run([]string{"grep", "ERROR", log}, ""); out != "ERROR disk full\nERROR timeout\n" || code != 0 {
		t.Errorf("grep ERROR = %q, exit %d; want the two matching lines, exit 0", out, code)
	}
	if out, _, code := run([]string{"grep", "PANIC", log}, ""); out != "" || code != 1 {
		t.Errorf("grep PANIC = %q, exit %d; want no output, exit 1", out, code)
	}
	if _, errOut, code := run([]string{"tail", "-n", "1", filepath.Join(dir, "missing.log")}, ""); code == 0 || !strings.Contains(errOut, "missing.log") {
		t.Errorf("tail of a missing file: exit %d, stderr %q; want a failure naming the file", code, errOut)
	}
	// pods/log: kwok's ClusterLogs serves every container's log from one
	// file, written in the CRI log format a kubelet reads.
	cri := "2026-12-07T09:00:00.000000001Z stdout F started\n2026-12-07T09:00:01.000000001Z stdout F listening on :8080\n"
	if err := os.WriteFile(c.PodLogFile(), []byte(cri), 0o600); err != nil {
		t.Fatal(err)
	}
	logs, err := c.Client.CoreV1().Pods(ns).GetLogs("web", &corev1.PodLogOptions{Container: "app"}).DoRaw(t.Context())
	if err != nil || string(logs) != "started\nlistening on :8080\n" {
		t.Errorf("pods/log = %q, %v; want the log file", logs, err)
	}
	_, err = kube.Exec(t.Context(), c.RESTConfig(), kube.ExecRequest{Namespace: ns, Pod: "absent", Argv: []string{"true"}, Stdout: &bytes.Buffer{}})
	if !errors.Is(err, kube.ErrExec) {
		t.Errorf("exec into a missing pod = %v, want ErrExec", err)
	}
}
