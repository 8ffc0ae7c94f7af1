package clustercmd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/localcluster"
)

// The test binary doubles as `berth` when this variable is set, so the
// command runs as a real process tree (up spawns serve from os.Executable).
const asBerth = "BERTH_CLUSTERCMD_TEST_AS_BERTH"

func TestMain(m *testing.M) {
	if os.Getenv(asBerth) == "1" {
		root := &cobra.Command{Use: "berth", SilenceUsage: true}
		root.AddCommand(New(cli.OSEnv()))
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func berth(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), asBerth+"=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustBerth(t *testing.T, args ...string) string {
	t.Helper()
	out, err := berth(t, args...)
	if err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// processes returns the pids recorded for the cluster in dir, supervisor first.
func processes(t *testing.T, dir string) []int {
	t.Helper()
	st, err := localcluster.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{st.PID}
	for _, c := range st.Components {
		pids = append(pids, c.PID)
	}
	return pids
}

// living returns the pids of pids that exist and are not zombies.
func living(pids []int) []int {
	var out []int
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && s[i+2] == 'Z' {
			continue
		}
		out = append(out, pid)
	}
	return out
}

func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(living(pids)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes still alive: %v", living(pids))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func client(t *testing.T, dir string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", dir+"/kubeconfig")
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUpStatusDownResumeAndNoOrphans(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { _, _ = localcluster.Down(dir, 10*time.Second) })

	out := mustBerth(t, "cluster", "up", "--dir", dir, "--nodes", "2", "--zones", "beijing,shanghai")
	if !strings.Contains(out, "export KUBECONFIG="+dir+"/kubeconfig") {
		t.Errorf("up does not say how to use the cluster:\n%s", out)
	}
	status := mustBerth(t, "cluster", "status", "--dir", dir)
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if !strings.Contains(status, name) {
			t.Errorf("status does not report %s:\n%s", name, status)
		}
	}
	if strings.Count(status, "healthy") != 5 || strings.Contains(status, "unhealthy") {
		t.Errorf("status, want 5 healthy components:\n%s", status)
	}

	k := client(t, dir)
	ctx := context.Background()
	nodes, err := k.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]int{}
	for _, n := range nodes.Items {
		zones[n.Labels[localcluster.ZoneLabel]]++
	}
	if len(nodes.Items) != 2 || zones["beijing"] != 1 || zones["shanghai"] != 1 {
		t.Errorf("nodes by zone = %v, want one in beijing and one in shanghai", zones)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survives-restart"}, Data: map[string]string{"k": "v"}}
	if _, err := k.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("down leaves no process behind", func(t *testing.T) {
		pids := processes(t, dir)
		out := mustBerth(t, "cluster", "down", "--dir", dir)
		if !strings.Contains(out, "stopped") {
			t.Errorf("down says %q", out)
		}
		if alive := living(pids); len(alive) > 0 {
			t.Fatalf("after down, still alive: %v", alive)
		}
		if out, err := berth(t, "cluster", "status", "--dir", dir); err == nil {
			t.Errorf("status of a stopped cluster succeeded:\n%s", out)
		}
	})

	t.Run("up on the same dir resumes with the data and shape it had", func(t *testing.T) {
		before, _ := localcluster.ReadState(dir)
		mustBerth(t, "cluster", "up", "--dir", dir)
		after, _ := localcluster.ReadState(dir)
		if after.Server != before.Server {
			t.Errorf("resumed API server at %s, want the same address %s so kubeconfigs stay valid", after.Server, before.Server)
		}
		k := client(t, dir)
		got, err := k.CoreV1().ConfigMaps("default").Get(ctx, "survives-restart", metav1.GetOptions{})
		if err != nil || got.Data["k"] != "v" {
			t.Fatalf("configmap after resume: %v %v", got, err)
		}
		nodes, err := k.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil || len(nodes.Items) != 2 {
			t.Fatalf("nodes after resume: %d, %v", len(nodes.Items), err)
		}
	})

	t.Run("killing the supervisor with SIGKILL leaves no orphans", func(t *testing.T) {
		pids := processes(t, dir)
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitGone(t, pids)
		out := mustBerth(t, "cluster", "down", "--dir", dir)
		if !strings.Contains(out, "No cluster is running") {
			t.Errorf("down after the components died says %q", out)
		}
	})
}

func TestUpRefusesBadFlagsNamingTheFlag(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "0"}, "--nodes: must be at least 1"},
		{[]string{"--zones", "a,,b"}, "--zones: zone names must not be empty"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			out, err := berth(t, append([]string{"cluster", "up", "--dir", t.TempDir()}, tt.args...)...)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Errorf("got err=%v output %q, want an error naming %q", err, out, tt.want)
			}
		})
	}
}
