package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// ExecRequest is one command to run in a container: argv as given, never
// through a shell unless argv names one.
type ExecRequest struct {
	Namespace, Pod, Container string
	Argv                      []string
	// Stdin, when not nil, is connected to the command; else the command
	// reads end of file.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY asks for a terminal (Stderr is then merged into Stdout); Resize,
	// when not nil, reports its sizes.
	TTY    bool
	Resize remotecommand.TerminalSizeQueue
}

// ErrExec marks a failure to run the command (as opposed to the command
// running and exiting non-zero).
var ErrExec = errors.New("exec")

// Exec runs r through the API server (pods/exec): WebSocket
// (v5.channel.k8s.io) first, SPDY when the server does not upgrade. It
// returns the command's exit code, or an error wrapping ErrExec when the
// command could not run or the stream broke.
func Exec(ctx context.Context, cfg *rest.Config, r ExecRequest) (int, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return -1, fmt.Errorf("%w: client: %v", ErrExec, err)
	}
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(r.Namespace).Name(r.Pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: r.Container, Command: r.Argv,
			Stdin: r.Stdin != nil, Stdout: r.Stdout != nil, Stderr: r.Stderr != nil && !r.TTY, TTY: r.TTY,
		}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return -1, fmt.Errorf("%w: websocket: %v", ErrExec, err)
	}
	spdy, err := remotecommand.NewSPDYExecutor(cfg, "POST", req.URL())
	if err != nil {
		return -1, fmt.Errorf("%w: spdy: %v", ErrExec, err)
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return -1, fmt.Errorf("%w: %v", ErrExec, err)
	}
	opts := remotecommand.StreamOptions{Stdin: r.Stdin, Stdout: r.Stdout, Tty: r.TTY, TerminalSizeQueue: r.Resize}
	if !r.TTY {
		opts.Stderr = r.Stderr
	}
	err = exec.StreamWithContext(ctx, opts)
	var code utilexec.CodeExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &code):
		return code.Code, nil
	}
	if n, ok := kwokExit(err); ok {
		return n, nil
	}
	return -1, fmt.Errorf("%w: %s/%s: %v", ErrExec, r.Namespace, r.Pod, err)
}

// kwokExitRE is how kwok's ClusterExec (the local cluster's kubelet)
// reports a command that exited non-zero: as an internal error naming the
// exit status, where a kubelet sends the NonZeroExitCode status that
// remotecommand turns into a CodeExitError.
var kwokExitRE = regexp.MustCompile(`error executing command in container: cmd wait: .*: exit status ([0-9]{1,3})(\n|$)`)

func kwokExit(err error) (int, bool) {
	m := kwokExitRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// Exec runs r in this cluster (see the package function Exec).
func (c *Conn) Exec(ctx context.Context, r ExecRequest) (int, error) { return Exec(ctx, c.cfg, r) }
