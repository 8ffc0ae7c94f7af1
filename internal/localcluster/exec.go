package localcluster

import (
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
)

// Exec into simulated pods and their logs are served by kwok: the API
// server reaches kwok's kubelet endpoint (kwok's server port, advertised as
// each node's daemonEndpoints.kubeletEndpoint.Port by --node-port) at the
// node's InternalDNS address, 127.0.0.1, over TLS with the API server's own
// serving certificate, verified against the cluster CA. The InternalIP stays
// distinct per node (node ports are shown at it).
//
// kwok's ClusterExec runs every exec as a local process of the machine,
// with ExecDir as its working directory; its ClusterLogs serves every
// container's log from PodLogFile. This is a development and test cluster:
// an exec into one of its pods is a process on this machine, as the user
// running the cluster.
const kubeletAddressType = corev1.NodeInternalDNS

// ExecDir is the working directory of commands exec'd into the cluster's pods.
func (c *Cluster) ExecDir() string { return filepath.Join(c.opts.Dir, "exec") }

// PodLogFile is the file every simulated container's log is read from, in
// the CRI log format ("<RFC 3339 time> stdout F <line>").
func (c *Cluster) PodLogFile() string { return filepath.Join(c.opts.Dir, "exec", "container.log") }

// kwokExec returns the kwok configuration documents (appended to the
// stages) that map exec and logs of every pod to local processes and a file.
func kwokExec(dir, logFile string) []byte {
	return fmt.Appendf(nil, `
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: berth-local
spec:
  execs:
  - local:
      workDir: %q
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: berth-local
spec:
  logs:
  - logsFile: %q
    follow: false
`, dir, logFile)
}

// prepareExec creates ExecDir and an empty PodLogFile unless they exist.
func (c *Cluster) prepareExec() error {
	if err := os.MkdirAll(c.ExecDir(), 0o700); err != nil {
		return fmt.Errorf("exec directory: %w", err)
	}
	f, err := os.OpenFile(c.PodLogFile(), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("pod log file: %w", err)
	}
	return f.Close()
}
