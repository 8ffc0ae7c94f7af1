package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Log bounds.
const (
	// MaxStepLog is how much of one step's log is kept; the rest is
	// counted and dropped.
	MaxStepLog = 4 << 20
	// TailBytes is how much of a step's log end is kept with the run.
	TailBytes = 4 << 10
	// MaxLogRead bounds one read of a log.
	MaxLogRead = 256 << 10
)

// Logs keeps the step logs of runs as files under one directory, bounded
// per step, and wakes followers as they grow.
type Logs struct {
	dir string

	mu    sync.Mutex
	grown chan struct{} // closed and replaced at every write
}

// NewLogs keeps logs under dir (created 0700).
func NewLogs(dir string) (*Logs, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pipeline logs: %w", err)
	}
	return &Logs{dir: dir, grown: make(chan struct{})}, nil
}

func (l *Logs) path(k RunKey, step string) string {
	return filepath.Join(l.dir, k.Tenant, k.Project, k.Name, strconv.FormatInt(k.Number, 10), step+".log")
}

// Create starts step's log of run k, replacing an earlier one.
func (l *Logs) Create(k RunKey, step string) (*LogWriter, error) {
	p := l.path(k, step)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	return &LogWriter{f: f, logs: l}, nil
}

func (l *Logs) wake() {
	l.mu.Lock()
	close(l.grown)
	l.grown = make(chan struct{})
	l.mu.Unlock()
}

// Changed returns a channel closed at the next write to any log.
func (l *Logs) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.grown
}

// Read returns up to MaxLogRead bytes of step's log of run k from offset;
// an empty answer at the end. A step that has not started has an empty log.
func (l *Logs) Read(k RunKey, step string, offset int64) ([]byte, error) {
	f, err := os.Open(l.path(k, step))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, MaxLogRead))
}

// Wait returns when a log grows, ctx ends or changed (from Changed) is closed.
func (l *Logs) Wait(ctx context.Context, changed <-chan struct{}) {
	select {
	case <-ctx.Done():
	case <-changed:
	}
}

// LogWriter writes one step's log: the first MaxStepLog bytes to its
// file, the last TailBytes kept for the run record.
type LogWriter struct {
	f       *os.File
	logs    *Logs
	mu      sync.Mutex
	written int64
	dropped int64
	tail    []byte
}

// Write implements io.Writer; it never fails the step for a full log.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	keep := p
	if room := MaxStepLog - w.written; int64(len(keep)) > room {
		keep = keep[:max(room, 0)]
	}
	if len(keep) > 0 {
		n, err := w.f.Write(keep)
		w.written += int64(n)
		if err != nil {
			return len(p), nil //nolint:nilerr // a log that cannot be written does not fail the build
		}
	}
	w.dropped += int64(len(p) - len(keep))
	w.tail = append(w.tail, p...)
	if len(w.tail) > TailBytes {
		w.tail = append([]byte(nil), w.tail[len(w.tail)-TailBytes:]...)
	}
	w.logs.wake()
	return len(p), nil
}

// Close ends the log and returns its size, what was dropped and its tail.
func (w *LogWriter) Close() (written, dropped int64, tail string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dropped > 0 {
		msg := fmt.Sprintf("\n[berth: %d more bytes of this log were not kept]\n", w.dropped)
		_, _ = w.f.WriteString(msg)
	}
	_ = w.f.Close()
	w.logs.wake()
	return w.written, w.dropped, string(w.tail)
}
