// Package localcluster runs a real Kubernetes control plane on one machine:
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from
// the upstream Go modules, with kwok simulating nodes and the pods on them.
//
// The components are separate processes started from a components directory
// (see build/components/build.sh). Start runs them as children of the
// calling process, each on a free loopback port, and returns once the API
// server answers, the nodes are registered and Ready. Everything lives under
// one directory: certificates, etcd data, logs, the kubeconfig and a state
// file, so a cluster restarted on the same directory keeps its data.
package localcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options says what cluster to start.
type Options struct {
	// Dir holds everything of the cluster. Required.
	Dir string
	// ComponentsDir holds the component binaries. Required.
	ComponentsDir string
	// Nodes is how many simulated nodes to register (default 3).
	Nodes int
	// Zones spreads the nodes round-robin over these topology zones
	// (default zone-a, zone-b, zone-c). The slice is not kept.
	Zones []string
	// Log receives progress messages; nil discards them.
	Log *slog.Logger
	// PodIP, when set, is the IP of every simulated pod instead of one from
	// kwok's pod range. Traffic tests set it to an address of this machine
	// that is not loopback (EndpointSlices refuse 127.0.0.0/8), so the pods'
	// endpoints reach processes the test serves on that address, one port
	// per version. Off (empty) by default.
	PodIP string
}

func (o *Options) defaults() error {
	if o.Dir == "" {
		return errors.New("cluster directory is required")
	}
	if o.ComponentsDir == "" {
		return errors.New("components directory is required (see build/components/build.sh)")
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Nodes < 0 {
		return fmt.Errorf("nodes: must be at least 1, got %d", o.Nodes)
	}
	if len(o.Zones) == 0 {
		o.Zones = []string{"zone-a", "zone-b", "zone-c"}
	}
	o.Zones = append([]string(nil), o.Zones...)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	o.Dir = abs
	return nil
}

// Component names, in start order.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
)

// Cluster is a running local control plane.
type Cluster struct {
	opts   Options
	procs  []*process
	state  State
	config *rest.Config
	lock   *os.File
}

// Start starts a cluster, or resumes the one whose data is in opts.Dir, and
// returns when it is ready. On error nothing it started is left running.
// Cancelling ctx aborts the start; once Start has returned, the cluster runs
// until Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	for _, d := range []string{opts.Dir, filepath.Join(opts.Dir, "logs")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, lock: lock}
	began := time.Now()
	c.state = State{Dir: opts.Dir, PID: os.Getpid(), Nodes: opts.Nodes, Zones: opts.Zones, StartedAt: began,
		Kubeconfig: filepath.Join(opts.Dir, "kubeconfig")}
	if err := c.boot(ctx); err != nil {
		c.Stop()
		c.state.Error = err.Error()
		_ = c.writeState()
		return nil, err
	}
	c.state.Ready = true
	if err := c.writeState(); err != nil {
		c.Stop()
		return nil, err
	}
	opts.Log.Info("cluster ready", "dir", opts.Dir, "server", c.state.Server, "took", time.Since(began).Round(time.Millisecond))
	return c, nil
}

func (c *Cluster) boot(ctx context.Context) error {
	p := pki{dir: filepath.Join(c.opts.Dir, "pki")}
	if err := p.ensure(); err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, kcmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	// A resumed cluster keeps its API server address when it can, so the
	// kubeconfigs handed out before (and clients holding them) keep working.
	if prev, err := ReadState(c.opts.Dir); err == nil {
		if port, ok := reusablePort(prev.Server); ok {
			apiPort = port
		}
	}
	c.state.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := writeKubeconfig(c.state.Kubeconfig, c.state.Server, p); err != nil {
		return err
	}
	c.config, err = clientcmd.BuildConfigFromFlags("", c.state.Kubeconfig)
	if err != nil {
		return err
	}
	kwokConfig := filepath.Join(c.opts.Dir, "kwok.yaml")
	stages, err := kwokStages(c.opts.PodIP)
	if err != nil {
		return err
	}
	if err := c.prepareExec(); err != nil {
		return err
	}
	stages = append(stages, kwokExec(c.ExecDir(), c.PodLogFile())...)
	if err := os.WriteFile(kwokConfig, stages, 0o600); err != nil {
		return err
	}

	kubeconfig := c.state.Kubeconfig
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	steps := []struct {
		name   string
		args   []string
		health string
	}{
		{Etcd, []string{
			"--data-dir=" + filepath.Join(c.opts.Dir, "etcd"),
			"--listen-client-url=" + etcdURL,
			"--listen-peer-url=http://127.0.0.1:" + strconv.Itoa(etcdPeer),
		}, etcdURL + "/health"},
		{APIServer, []string{
			"--etcd-servers=" + etcdURL,
			"--secure-port=" + strconv.Itoa(apiPort),
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--tls-cert-file=" + p.servingCert(),
			"--tls-private-key-file=" + p.servingKey(),
			"--client-ca-file=" + p.caCert(),
			"--service-account-issuer=https://kubernetes.default.svc",
			"--service-account-key-file=" + p.serviceAccountPub(),
			"--service-account-signing-key-file=" + p.serviceAccountKey(),
			"--authorization-mode=RBAC",
			"--service-cluster-ip-range=10.96.0.0/16",
			"--allow-privileged=true",
			// Exec and logs reach kwok's kubelet endpoint (see exec.go).
			"--kubelet-preferred-address-types=" + string(kubeletAddressType),
			"--kubelet-certificate-authority=" + p.caCert(),
			"--profiling=false",
			"--max-requests-inflight=800",
			"--max-mutating-requests-inflight=400",
		}, c.state.Server + "/readyz"},
		{ControllerManager, []string{
			"--kubeconfig=" + kubeconfig,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--service-account-private-key-file=" + p.serviceAccountKey(),
			"--root-ca-file=" + p.caCert(),
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(kcmPort),
			"--cert-dir=" + filepath.Join(c.opts.Dir, "pki", "controller-manager"),
			"--kube-api-qps=200",
			"--kube-api-burst=400",
			"--concurrent-deployment-syncs=20",
			"--concurrent-replicaset-syncs=20",
			// kwok renews node leases from one process; under a loaded
			// machine it can lag, so allow more than the 40s default before
			// a node (and every pod on it) is declared NotReady.
			"--node-monitor-grace-period=2m",
			"--profiling=false",
		}, "https://127.0.0.1:" + strconv.Itoa(kcmPort) + "/healthz"},
		{Scheduler, []string{
			"--kubeconfig=" + kubeconfig,
			"--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig,
			"--leader-elect=false",
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(schedPort),
			"--cert-dir=" + filepath.Join(c.opts.Dir, "pki", "scheduler"),
			"--profiling=false",
		}, "https://127.0.0.1:" + strconv.Itoa(schedPort) + "/healthz"},
		{Kwok, []string{
			"--kubeconfig=" + kubeconfig,
			"--config=" + kwokConfig,
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=" + nodeAnnotation + "=fake",
			"--cidr=10.244.0.1/16",
			"--node-ip=10.0.0.1",
			"--server-address=127.0.0.1:" + strconv.Itoa(kwokPort),
			"--node-port=" + strconv.Itoa(kwokPort),
			"--tls-cert-file=" + p.servingCert(),
			"--tls-private-key-file=" + p.servingKey(),
		}, "https://127.0.0.1:" + strconv.Itoa(kwokPort) + "/healthz"},
	}
	for _, s := range steps {
		if err := c.startComponent(ctx, s.name, s.args, s.health); err != nil {
			return err
		}
	}
	client, err := kubernetes.NewForConfig(c.config)
	if err != nil {
		return err
	}
	return c.ensureNodes(ctx, client)
}

func (c *Cluster) startComponent(ctx context.Context, name string, args []string, health string) error {
	began := time.Now()
	bin := filepath.Join(c.opts.ComponentsDir, name)
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("component %s: %w (build the components with build/components/build.sh)", name, err)
	}
	logPath := filepath.Join(c.opts.Dir, "logs", name+".log")
	proc, err := startProcess(name, bin, args, nil, logPath)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, proc)
	c.state.Components = append(c.state.Components, ComponentState{Name: name, PID: proc.pid(), Health: health, Log: logPath})
	if err := c.writeState(); err != nil {
		return err
	}
	if err := waitHealthy(ctx, proc, health, c.config, 3*time.Minute); err != nil {
		return err
	}
	c.opts.Log.Info("component ready", "component", name, "pid", proc.pid(), "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// Kubeconfig is the path of the cluster's admin kubeconfig.
func (c *Cluster) Kubeconfig() string { return c.state.Kubeconfig }

// RESTConfig returns a copy of the admin client configuration.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.config) }

// State returns what the state file records about the cluster.
func (c *Cluster) State() State { return c.state }

// Done is closed when any component exits on its own.
func (c *Cluster) Done() <-chan string {
	ch := make(chan string, 1)
	for _, p := range c.procs {
		go func() {
			<-p.done
			select {
			case ch <- p.name:
			default:
			}
		}()
	}
	return ch
}

// Stop stops every component, newest first, and records that the cluster
// is down. Its data stays in the directory.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(15 * time.Second)
	}
	c.procs = nil
	c.state.Ready = false
	c.state.Components = nil
	c.state.PID = 0
	_ = c.writeState()
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}

// State is what DIR/state.json records of a cluster, for status and down.
type State struct {
	Dir        string           `json:"dir"`
	PID        int              `json:"pid"` // the process supervising the components
	Server     string           `json:"server"`
	Kubeconfig string           `json:"kubeconfig"`
	Nodes      int              `json:"nodes"`
	Zones      []string         `json:"zones"`
	Components []ComponentState `json:"components"`
	Ready      bool             `json:"ready"`
	StartedAt  time.Time        `json:"startedAt"`
	Error      string           `json:"error,omitempty"`
}

// ComponentState records one component process.
type ComponentState struct {
	Name   string `json:"name"`
	PID    int    `json:"pid"`
	Health string `json:"health"`
	Log    string `json:"log"`
}

func statePath(dir string) string { return filepath.Join(dir, "state.json") }

func (c *Cluster) writeState() error {
	data, err := json.MarshalIndent(c.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(c.opts.Dir) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(c.opts.Dir))
}

// ReadState reads the state file of the cluster in dir.
func ReadState(dir string) (State, error) {
	var s State
	data, err := os.ReadFile(statePath(dir))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("state file %s: %w", statePath(dir), err)
	}
	return s, nil
}

// lockDir takes an exclusive lock on dir so two clusters never share it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("cluster directory %s is in use by another running cluster", dir)
	}
	return f, nil
}

func writeKubeconfig(path, server string, p pki) error {
	ca, err := os.ReadFile(p.caCert())
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(p.adminCert())
	if err != nil {
		return err
	}
	key, err := os.ReadFile(p.adminKey())
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["berth-local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["berth-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts["berth-local"] = &clientcmdapi.Context{Cluster: "berth-local", AuthInfo: "berth-admin"}
	cfg.CurrentContext = "berth-local"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return os.Chmod(path, 0o600)
}
