// Package podlog searches the logs of an application's pods (F-observability:
// operators read and search logs without a shell): every pod of the
// application, or of one version, or one pod, from a point in time or the
// last lines of each, filtered on the server by a substring or a regular
// expression, as one time-ordered answer or followed as lines come.
package podlog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/internal/resource"
)

// Bounds of one search.
const (
	MaxPods      = 50       // pods one search reads at once
	MaxLimit     = 10000    // lines one answer holds
	DefaultLimit = 1000     // lines an answer holds unless asked
	MaxTail      = 10000    // last lines asked of each pod
	MaxGrep      = 1024     // bytes of a pattern
	MaxLine      = 16 << 10 // bytes of a line kept; the rest is cut
	// MaxBytesPerPod bounds what one pod's log is read of when not
	// following (the newest bytes when Tail is set).
	MaxBytesPerPod = 8 << 20
)

// Query asks for log lines.
type Query struct {
	Version string // only the pods of this version
	Pod     string // only this pod
	// Since and Until bound the lines' times; zero: unbounded.
	Since, Until time.Time
	Tail         int    // only the last Tail lines of each pod (0: all)
	Grep         string // only lines containing it (a regular expression with Regexp)
	Regexp       bool
	IgnoreCase   bool
	Follow       bool // keep sending new lines until the caller stops
	// Limit is the most lines answered without Follow (the newest);
	// 0: DefaultLimit.
	Limit int
}

// Line is one log line of one container.
type Line struct {
	Pod       string    `json:"pod"`
	Version   string    `json:"version"`
	Container string    `json:"container"`
	Time      time.Time `json:"time"`
	Text      string    `json:"text"`
}

// Pod is one pod of the application, as the source lists it.
type Pod struct {
	Name, Version string
	Containers    []string
}

// StreamOptions are what Source.Stream asks of one container's log.
type StreamOptions struct {
	Since    time.Time
	Tail     int
	Follow   bool
	MaxBytes int64
}

// Source lists an application's pods and reads their containers' logs,
// each line starting with its RFC 3339 time (as pods/log with
// timestamps=true).
type Source interface {
	Pods(ctx context.Context, cluster, namespace, app string) ([]Pod, error)
	Stream(ctx context.Context, cluster, namespace, pod, container string, o StreamOptions) (io.ReadCloser, error)
}

// Target is the application whose pods are searched.
type Target struct{ Cluster, Namespace, App string }

// Result says how a search ended.
type Result struct {
	Pods      int  `json:"pods"`      // pods read
	Truncated bool `json:"truncated"` // older matching lines left out (Limit)
}

// matcher reports whether a line's text matches the query's pattern.
type matcher func(string) bool

// Check validates q, naming the field at fault, and returns its matcher.
func Check(q Query) (matcher, error) {
	var errs resource.Errors
	if q.Tail < 0 || q.Tail > MaxTail {
		errs.Add("tail", "must be between 0 and %d, got %d", MaxTail, q.Tail)
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		errs.Add("limit", "must be between 0 and %d, got %d", MaxLimit, q.Limit)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		errs.Add("until", "must be after since %s", q.Since.Format(time.RFC3339))
	}
	if q.Follow && !q.Until.IsZero() {
		errs.Add("until", "cannot end a followed log")
	}
	if len(q.Grep) > MaxGrep {
		errs.Add("grep", "must be at most %d bytes, got %d", MaxGrep, len(q.Grep))
	}
	if q.Regexp && q.Grep == "" {
		errs.Add("grep", "must be set: regexp says how to read it")
	}
	m := matcher(func(string) bool { return true })
	switch {
	case q.Grep == "" || len(q.Grep) > MaxGrep:
	case q.Regexp || q.IgnoreCase:
		pattern := q.Grep
		if !q.Regexp {
			pattern = regexp.QuoteMeta(pattern)
		}
		if q.IgnoreCase {
			pattern = "(?i)" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			errs.Add("grep", "is not a regular expression: %v", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			break
		}
		m = re.MatchString
	default:
		m = func(s string) bool { return strings.Contains(s, q.Grep) }
	}
	return m, errs.Err()
}

// Search sends emit the lines of t's pods that q asks for: without
// Follow, the newest Limit matching lines of all pods in time order, once
// every pod's log has been read; with Follow, every matching line as it is
// read, until ctx ends or every stream does. emit is never called
// concurrently.
func Search(ctx context.Context, src Source, t Target, q Query, emit func(Line) error) (Result, error) {
	match, err := Check(q)
	if err != nil {
		return Result{}, err
	}
	pods, err := src.Pods(ctx, t.Cluster, t.Namespace, t.App)
	if err != nil {
		return Result{}, err
	}
	pods = slices.DeleteFunc(pods, func(p Pod) bool {
		return (q.Version != "" && p.Version != q.Version) || (q.Pod != "" && p.Name != q.Pod)
	})
	if q.Pod != "" && len(pods) == 0 {
		return Result{}, fmt.Errorf("pod %s of %s: %w", q.Pod, t.App, resource.ErrNotFound)
	}
	if len(pods) > MaxPods {
		var errs resource.Errors
		errs.Add("version", "the search would read %d pods, at most %d: name a version or a pod", len(pods), MaxPods)
		return Result{}, errs.Err()
	}
	res := Result{Pods: len(pods)}
	if q.Follow {
		return res, follow(ctx, src, t, q, pods, match, emit)
	}
	lines, truncated, err := collect(ctx, src, t, q, pods, match)
	if err != nil {
		return res, err
	}
	res.Truncated = truncated
	for _, l := range lines {
		if err := emit(l); err != nil {
			return res, err
		}
	}
	return res, nil
}

// collect reads every container's log at once and keeps the newest
// matching lines.
func collect(ctx context.Context, src Source, t Target, q Query, pods []Pod, match matcher) ([]Line, bool, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	var mu sync.Mutex
	var all []Line
	truncated := false
	err := each(ctx, src, t, q, pods, match, func(l Line) error {
		mu.Lock()
		defer mu.Unlock()
		all = append(all, l)
		if len(all) >= 2*limit { // keep memory bounded: drop the oldest half
			sortLines(all)
			all = slices.Delete(all, 0, len(all)-limit)
			truncated = true
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	sortLines(all)
	if len(all) > limit {
		all, truncated = all[len(all)-limit:], true
	}
	return all, truncated, nil
}

func sortLines(ls []Line) {
	slices.SortStableFunc(ls, func(a, b Line) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Pod, b.Pod)
	})
}

// follow sends matching lines as they are read.
func follow(ctx context.Context, src Source, t Target, q Query, pods []Pod, match matcher, emit func(Line) error) error {
	var mu sync.Mutex
	return each(ctx, src, t, q, pods, match, func(l Line) error {
		mu.Lock()
		defer mu.Unlock()
		return emit(l)
	})
}

// each reads every container of pods concurrently, sending got each
// matching line; the first error stops them all.
func each(ctx context.Context, src Source, t Target, q Query, pods []Pod, match matcher, got func(Line) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, p := range pods {
		for _, c := range p.Containers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := read(ctx, src, t, q, p, c, match, got); err != nil {
					cancel(err)
				}
			}()
		}
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func read(ctx context.Context, src Source, t Target, q Query, p Pod, container string, match matcher, got func(Line) error) error {
	o := StreamOptions{Since: q.Since, Tail: q.Tail, Follow: q.Follow}
	if !q.Follow {
		o.MaxBytes = MaxBytesPerPod
	}
	rc, err := src.Stream(ctx, t.Cluster, t.Namespace, p.Name, container, o)
	if err != nil {
		return fmt.Errorf("log of %s/%s: %w", p.Name, container, err)
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 64<<10)
	for {
		raw, err := readLine(r)
		if len(raw) > 0 {
			l := parse(raw, p, container)
			if !q.Until.IsZero() && l.Time.After(q.Until) {
				return nil // lines come in time order
			}
			if (q.Since.IsZero() || !l.Time.Before(q.Since)) && match(l.Text) {
				if err := got(l); err != nil {
					return err
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("log of %s/%s: %w", p.Name, container, err)
		}
	}
}

// readLine reads one line without its newline, keeping at most MaxLine
// bytes of it.
func readLine(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		chunk, err := r.ReadSlice('\n')
		if room := MaxLine - b.Len(); room > 0 {
			b.Write(chunk[:min(len(chunk), room)])
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return strings.TrimRight(b.String(), "\r\n"), err
	}
}

// parse splits "<RFC 3339 time> <text>"; a line without a time keeps the
// zero time.
func parse(raw string, p Pod, container string) Line {
	l := Line{Pod: p.Name, Version: p.Version, Container: container, Text: raw}
	if ts, text, ok := strings.Cut(raw, " "); ok {
		if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			l.Time, l.Text = at.UTC(), text
		}
	}
	return l
}
