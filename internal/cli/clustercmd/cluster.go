// Package clustercmd implements `berth cluster up|down|status`: a real
// Kubernetes control plane on this machine (see internal/localcluster).
//
// `up` starts a detached supervisor, `berth cluster serve`, in a session of
// its own; the supervisor runs the components as its children, which die
// with it even if it is killed. `down` stops the supervisor's process group.
package clustercmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"berth.dev/berth/internal/cli"
	"berth.dev/berth/internal/localcluster"
)

// DefaultDir is where the cluster lives when --dir is not given.
const DefaultDir = ".berth/cluster"

type options struct {
	dir        string
	nodes      int
	zones      []string
	components string
}

// New returns the `cluster` command.
func New(env cli.Env) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a real Kubernetes control plane on this machine",
		Long: "Run a real Kubernetes v1.32 control plane on this machine: etcd, kube-apiserver,\n" +
			"kube-controller-manager and kube-scheduler, with kwok simulating nodes and pods.",
	}
	cmd.PersistentFlags().StringVar(&o.dir, "dir", DefaultDir, "directory holding the cluster's data, logs and kubeconfig")
	cmd.AddCommand(upCmd(env, o), serveCmd(env, o), downCmd(env, o), statusCmd(env, o))
	return cmd
}

func startFlags(cmd *cobra.Command, o *options) {
	cmd.Flags().IntVar(&o.nodes, "nodes", 3, "number of simulated nodes")
	cmd.Flags().StringSliceVar(&o.zones, "zones", []string{"zone-a", "zone-b", "zone-c"}, "zones the nodes are spread over")
	cmd.Flags().StringVar(&o.components, "components", "", "directory of built components (default: $BERTH_COMPONENTS_DIR, or build them)")
}

func (o *options) validate() error {
	if o.nodes < 1 {
		return fmt.Errorf("--nodes: must be at least 1, got %d", o.nodes)
	}
	for _, z := range o.zones {
		if strings.TrimSpace(z) == "" {
			return errors.New("--zones: zone names must not be empty")
		}
	}
	abs, err := filepath.Abs(o.dir)
	if err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	o.dir = abs
	return nil
}

func upCmd(env cli.Env, o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the local cluster (or resume the one in --dir) and wait until it is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			if st, err := localcluster.ReadState(o.dir); err == nil {
				if st.Ready && running(cmd.Context(), o.dir) {
					fmt.Fprintf(env.Stdout, "The cluster in %s is already running.\n", o.dir)
					printUsage(env.Stdout, st)
					return nil
				}
				// Resuming: keep the shape the cluster was created with.
				if !cmd.Flags().Changed("nodes") && st.Nodes > 0 {
					o.nodes = st.Nodes
				}
				if !cmd.Flags().Changed("zones") && len(st.Zones) > 0 {
					o.zones = st.Zones
				}
			}
			if o.components == "" {
				wd, err := os.Getwd()
				if err != nil {
					return err
				}
				if o.components, err = localcluster.FindComponents(cmd.Context(), env.Getenv, wd, env.Stderr); err != nil {
					return err
				}
			}
			st, err := spawn(cmd.Context(), o)
			if err != nil {
				return err
			}
			printUsage(env.Stdout, st)
			return nil
		},
	}
	startFlags(cmd, o)
	return cmd
}

// spawn starts the supervisor detached and waits for it to report ready.
func spawn(ctx context.Context, o *options) (localcluster.State, error) {
	self, err := os.Executable()
	if err != nil {
		return localcluster.State{}, err
	}
	if err := os.MkdirAll(filepath.Join(o.dir, "logs"), 0o700); err != nil {
		return localcluster.State{}, err
	}
	logPath := filepath.Join(o.dir, "logs", "supervisor.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return localcluster.State{}, err
	}
	defer logf.Close()
	child := exec.Command(self, "cluster", "serve", "--dir", o.dir, "--nodes", strconv.Itoa(o.nodes),
		"--zones", strings.Join(o.zones, ","), "--components", o.components)
	child.Stdout, child.Stderr = logf, logf
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := child.Start(); err != nil {
		return localcluster.State{}, fmt.Errorf("start supervisor: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(5 * time.Minute)
	for {
		select {
		case err := <-exited:
			return localcluster.State{}, fmt.Errorf("cluster did not start (%v); see %s:\n%s", err, logPath, localcluster.LogTail(logPath, 20))
		case <-timeout:
			_ = syscall.Kill(-child.Process.Pid, syscall.SIGTERM)
			return localcluster.State{}, fmt.Errorf("cluster not ready after 5 minutes; see %s", logPath)
		case <-ctx.Done():
			_ = syscall.Kill(-child.Process.Pid, syscall.SIGTERM)
			return localcluster.State{}, ctx.Err()
		case <-tick.C:
		}
		st, err := localcluster.ReadState(o.dir)
		if err == nil && st.Ready && st.PID == child.Process.Pid {
			// The supervisor lives on, detached; stop reaping it.
			_ = child.Process.Release()
			return st, nil
		}
	}
}

func printUsage(w io.Writer, st localcluster.State) {
	fmt.Fprintf(w, "Kubernetes control plane ready at %s (%d simulated nodes in %s).\n",
		st.Server, st.Nodes, strings.Join(st.Zones, ", "))
	fmt.Fprintf(w, "\n  export KUBECONFIG=%s\n", st.Kubeconfig)
	fmt.Fprintf(w, "  berth cluster status --dir %s\n", st.Dir)
	fmt.Fprintf(w, "  berth cluster down --dir %s\n", st.Dir)
	fmt.Fprintf(w, "\nPods misbehave on request: label a pod template %s=%s|%s|%s|%s.\n",
		localcluster.SimulateLabel, localcluster.SimulateCrashLoop, localcluster.SimulateImagePullFailure,
		localcluster.SimulateNeverReady, localcluster.SimulateCrashAfterReady)
}

func serveCmd(env cli.Env, o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "Run the cluster in the foreground (what `up` starts in the background)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
			defer stop()
			if o.components == "" {
				wd, err := os.Getwd()
				if err != nil {
					return err
				}
				if o.components, err = localcluster.FindComponents(ctx, env.Getenv, wd, env.Stderr); err != nil {
					return err
				}
			}
			c, err := localcluster.Start(ctx, localcluster.Options{
				Dir: o.dir, ComponentsDir: o.components, Nodes: o.nodes, Zones: o.zones, Log: cli.Logger(env.Stderr),
			})
			if err != nil {
				return err
			}
			defer c.Stop()
			select {
			case <-ctx.Done():
				return nil
			case name := <-c.Done():
				return fmt.Errorf("component %s exited; stopping the cluster", name)
			}
		},
	}
	startFlags(cmd, o)
	return cmd
}

func downCmd(env cli.Env, o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the local cluster (its data stays in --dir)",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			stopped, err := localcluster.Down(o.dir, 30*time.Second)
			if err != nil {
				return err
			}
			if !stopped {
				fmt.Fprintf(env.Stdout, "No cluster is running in %s.\n", o.dir)
				return nil
			}
			fmt.Fprintf(env.Stdout, "Cluster in %s stopped; its data is kept (berth cluster up --dir %s resumes it).\n", o.dir, o.dir)
			return nil
		},
	}
}

func running(ctx context.Context, dir string) bool {
	_, comps, err := localcluster.Status(ctx, dir)
	if err != nil || len(comps) == 0 {
		return false
	}
	for _, c := range comps {
		if !c.Running {
			return false
		}
	}
	return true
}

func statusCmd(env cli.Env, o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Report each component of the local cluster; exits non-zero unless all are healthy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			st, comps, err := localcluster.Status(cmd.Context(), o.dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "Cluster %s\n  server:     %s\n  kubeconfig: %s\n\n", st.Dir, st.Server, st.Kubeconfig)
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "COMPONENT\tPID\tSTATE\tDETAIL")
			healthy := len(comps) > 0
			for _, c := range comps {
				state := "healthy"
				if !c.Healthy {
					state, healthy = "unhealthy", false
				}
				if !c.Running {
					state = "stopped"
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", c.Name, c.PID, state, c.Detail)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if !healthy {
				return errors.New("cluster is not healthy")
			}
			return nil
		},
	}
}
