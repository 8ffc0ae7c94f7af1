package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"berth.dev/berth/internal/terminal"
)

// runPipeline runs argvs as one exec each, the output of each command
// carried by Berth into the next one's input, and the last one's output
// (and every command's stderr) into w, at most the policy's output limit
// and time. It returns the last command's exit code.
func (p *Platform) runPipeline(ctx context.Context, s *TerminalSession, argvs [][]string, w io.Writer) (int, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.limits.CommandTimeout)
	defer cancel()
	lim := &limitWriter{w: w, left: s.limits.OutputBytes, cancel: cancel}
	codes := make([]int, len(argvs))
	// errs keeps each command's failure to run; only the last one's is
	// reported.
	errs := make([]error, len(argvs))
	var wg sync.WaitGroup
	var stdin io.Reader
	for i, argv := range argvs {
		var next *io.PipeReader
		var stdout io.Writer = lim
		var pw *io.PipeWriter
		if i < len(argvs)-1 {
			next, pw = io.Pipe()
			stdout = pw
		}
		in := stdin
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], errs[i] = p.Terminal.Cluster.Exec(ctx, s.cluster, terminal.ExecSpec{Namespace: s.Target.Namespace,
				Pod: s.Target.Pod, Container: s.Target.Container, Argv: argv, Stdin: in, Stdout: stdout, Stderr: lim})
			if pw != nil {
				pw.Close() // the next command reads end of file
			}
			if r, ok := in.(*io.PipeReader); ok {
				r.Close() // a writer still feeding this command stops
			}
		}()
		stdin = next
	}
	wg.Wait()
	last := len(argvs) - 1
	switch {
	case lim.truncated:
		return -1, true, nil
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return -1, false, fmt.Errorf("stopped after the policy's limit of %s", s.limits.CommandTimeout)
	case errs[last] != nil:
		return -1, false, errs[last]
	}
	// As in a shell without pipefail, the last command's status counts: an
	// earlier one whose reader went away (head) is not a failure.
	return codes[last], false, nil
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
