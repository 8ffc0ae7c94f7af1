package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// ComponentStatus is what Status found of one component.
type ComponentStatus struct {
	Name    string
	PID     int
	Running bool
	Healthy bool
	Detail  string // why it is not healthy
}

// Status reports the cluster recorded in dir: each component's process and
// health. It returns the recorded state too; an error only when dir holds
// no cluster.
func Status(ctx context.Context, dir string) (State, []ComponentStatus, error) {
	st, err := ReadState(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, nil, fmt.Errorf("no cluster in %s", dir)
		}
		return st, nil, err
	}
	cfg, _ := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	out := make([]ComponentStatus, 0, len(st.Components))
	for _, c := range st.Components {
		s := ComponentStatus{Name: c.Name, PID: c.PID, Running: ownedAlive(c.PID, st.Dir)}
		switch {
		case !s.Running:
			s.Detail = "not running"
		default:
			if err := Probe(ctx, c.Health, cfg); err != nil {
				s.Detail = err.Error()
			} else {
				s.Healthy = true
			}
		}
		out = append(out, s)
	}
	return st, out, nil
}

// Down stops the cluster recorded in dir: it signals the supervising
// process's group, waits up to grace for every recorded process to exit,
// then kills what is left. It reports whether anything was running. The
// cluster's data stays in dir.
func Down(dir string, grace time.Duration) (bool, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	st, err := ReadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	pids := []int{}
	if ownedAlive(st.PID, dir) {
		pids = append(pids, st.PID)
	}
	for _, c := range st.Components {
		if ownedAlive(c.PID, dir) {
			pids = append(pids, c.PID)
		}
	}
	if len(pids) == 0 {
		return false, nil
	}
	signalAll(st.PID, pids, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && anyAlive(pids, dir) {
		time.Sleep(100 * time.Millisecond)
	}
	if anyAlive(pids, dir) {
		signalAll(st.PID, pids, syscall.SIGKILL)
		deadline = time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && anyAlive(pids, dir) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if anyAlive(pids, dir) {
		return true, fmt.Errorf("processes %v still running after SIGKILL", pids)
	}
	return true, nil
}

// signalAll signals the supervisor's process group (it leads its own
// session) and, in case any component escaped it, each process by pid.
func signalAll(supervisor int, pids []int, sig syscall.Signal) {
	if supervisor > 0 && ownedAlive(supervisor, "") {
		_ = syscall.Kill(-supervisor, sig)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

func anyAlive(pids []int, dir string) bool {
	for _, pid := range pids {
		if ownedAlive(pid, dir) {
			return true
		}
	}
	return false
}

// ownedAlive reports whether pid is alive and, when dir is given, belongs
// to the cluster in dir (its command line names dir), so a recycled pid is
// never signalled.
func ownedAlive(pid int, dir string) bool {
	if !alive(pid) {
		return false
	}
	if dir == "" {
		return true
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte(dir))
}
