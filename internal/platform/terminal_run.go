package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"berth.dev/berth/internal/terminal"
)

// runPipeline runs a pipeline's first command in the container as argv
// through exec, then the filters after it in Berth over its output
// (terminal.RunFilter), writing the last one's output (and the command's
// stderr) into w, at most the policy's output limit and time. It returns
// the last command's exit code; ok false when the output was cut.
func (p *Platform) runPipeline(ctx context.Context, s *TerminalSession, argvs [][]string, w io.Writer) (int, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.limits.CommandTimeout)
	defer cancel()
	lim := &limitWriter{w: w, left: s.limits.OutputBytes, cancel: cancel}
	var stdout io.Writer = lim
	var captured *limitWriter
	if len(argvs) > 1 {
		captured = &limitWriter{w: &bytes.Buffer{}, left: terminal.MaxFilterInput, cancel: cancel}
		stdout = captured
	}
	code, err := p.Terminal.Cluster.Exec(ctx, s.cluster, terminal.ExecSpec{Namespace: s.Target.Namespace,
		Pod: s.Target.Pod, Container: s.Target.Container, Argv: argvs[0], Stdout: stdout, Stderr: lim})
	switch {
	case lim.truncated || captured != nil && captured.truncated:
		return -1, true, nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return -1, false, fmt.Errorf("stopped after the policy's limit of %s", s.limits.CommandTimeout)
	case err != nil:
		return -1, false, err
	case captured == nil:
		return code, false, nil
	}
	in := captured.w.(*bytes.Buffer).Bytes()
	for i, argv := range argvs[1:] {
		var out io.Writer = lim
		var next bytes.Buffer
		if i < len(argvs)-2 {
			out = &next
		}
		if code, err = terminal.RunFilter(argv, in, out); err != nil {
			return code, lim.truncated, err
		}
		in = next.Bytes()
	}
	return code, lim.truncated, nil
}

// limitWriter passes at most left bytes to w, then cancels the command.
type limitWriter struct {
	mu        sync.Mutex
	w         io.Writer
	left      int64
	truncated bool
	cancel    context.CancelFunc
}

func (l *limitWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.truncated {
		return len(b), nil
	}
	n := len(b)
	if int64(len(b)) > l.left {
		b = b[:l.left]
		l.truncated = true
		defer l.cancel()
	}
	l.left -= int64(len(b))
	if _, err := l.w.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}
