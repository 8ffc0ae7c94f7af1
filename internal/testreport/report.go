// Package testreport turns the event stream of `go test -json` into what a
// person reads after `make test`: go test's own ok/FAIL lines, the full
// output of every failing test, a list of the tests that skipped with their
// reasons, and a last line "N passed, N failed, N skipped".
//
// It exists so that no test can skip unnoticed: in CI (strict mode) a skip
// that is not on the repository's allow-list fails the run, like a failing
// test does.
package testreport

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Options says how to judge a run.
type Options struct {
	// Allowed are the tests that may skip.
	Allowed AllowList
	// AllowListName names the allow-list in messages.
	AllowListName string
	// Strict fails the run on any skip not in Allowed (CI=true).
	Strict bool
}

// Summary is what a run came to.
type Summary struct {
	Passed, Failed, Skipped int
	// Failures name each failed test ("pkg TestX/sub") or package whose
	// failure no test explains ("pkg [build failed]").
	Failures []string
	// Skips are the tests that skipped, in the order they ended.
	Skips []Skip
	// Packages counts the packages go test reported on.
	Packages int
}

// Skip is one skipped test.
type Skip struct {
	Package, Test string
	// Reason is what the test logged (t.Skip's message), one line.
	Reason string
	// Allowed says whether the allow-list names the test.
	Allowed bool
}

// Disallowed returns the skips the allow-list does not name.
func (s Summary) Disallowed() []Skip {
	var out []Skip
	for _, sk := range s.Skips {
		if !sk.Allowed {
			out = append(out, sk)
		}
	}
	return out
}

// OK reports whether the run passes: nothing failed, some package was
// tested, and in strict mode no test skipped outside the allow-list.
func (s Summary) OK(strict bool) bool {
	return s.Failed == 0 && s.Packages > 0 && (!strict || len(s.Disallowed()) == 0)
}

// event is one line of `go test -json` (cmd/test2json), including the
// build events go test adds since Go 1.24.
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string
	FailedBuild string
}

// maxLine bounds one line of the stream; a test printing more on one line
// than this is a bug worth an error.
const maxLine = 64 << 20

// Run reads a `go test -json` stream from r until it ends, writes the
// readable report to w as the stream goes, and returns the summary. Lines
// that are not JSON events (go's own messages on a merged stderr) are
// copied through.
func Run(r io.Reader, w io.Writer, opt Options) (Summary, error) {
	rep := &reporter{w: w, opt: opt, pkgs: map[string]*pkgRun{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		rep.handle(ev)
	}
	if err := sc.Err(); err != nil {
		return rep.sum, fmt.Errorf("read go test output: %w", err)
	}
	rep.unfinished()
	rep.footer()
	return rep.sum, nil
}

type reporter struct {
	w    io.Writer
	opt  Options
	pkgs map[string]*pkgRun
	sum  Summary
}

// pkgRun is the state of one package's test binary.
type pkgRun struct {
	// own is output that belongs to no test: go test's ok/FAIL lines,
	// TestMain's prints, a timeout's goroutine dump.
	own []string
	// tests holds, per top-level test, every output line of it and of
	// its subtests, in the order they came.
	tests map[string][]line
	// order lists top-level tests as they started.
	order []string
	// ended maps each test that ended to its action: pass, fail, skip.
	ended map[string]string
	// failed counts this package's failed tests.
	failed int
}

type line struct{ test, text string }

// rerun forgets how top and its subtests ended: they run again (-count=N).
func (p *pkgRun) rerun(top string) {
	for name := range p.ended {
		if name == top || strings.HasPrefix(name, top+"/") {
			delete(p.ended, name)
		}
	}
}

func (r *reporter) pkg(name string) *pkgRun {
	p := r.pkgs[name]
	if p == nil {
		p = &pkgRun{tests: map[string][]line{}, ended: map[string]string{}}
		r.pkgs[name] = p
	}
	return p
}

func (r *reporter) handle(ev event) {
	switch {
	case ev.Action == "build-output":
		fmt.Fprint(r.w, ev.Output)
	case ev.Package == "":
		// build-fail and anything newer: the package's own fail follows.
	case ev.Test == "":
		r.packageEvent(ev)
	default:
		r.testEvent(ev)
	}
}

func (r *reporter) testEvent(ev event) {
	p := r.pkg(ev.Package)
	top, _, _ := strings.Cut(ev.Test, "/")
	switch ev.Action {
	case "run":
		if ev.Test == top {
			p.rerun(top)
		}
		if _, ok := p.tests[top]; !ok {
			p.tests[top] = nil
			p.order = append(p.order, top)
		}
	case "output":
		if _, done := p.ended[top]; done {
			p.own = append(p.own, ev.Output) // late output of a finished test
			return
		}
		if _, ok := p.tests[top]; !ok {
			p.order = append(p.order, top)
		}
		p.tests[top] = append(p.tests[top], line{ev.Test, ev.Output})
	case "pass", "fail", "skip":
		r.end(ev.Package, p, ev.Test, ev.Action, "")
		if ev.Test == top {
			r.flush(ev.Package, p, top)
		}
	}
}

// end records that test ended with action; note explains a failure.
func (r *reporter) end(pkg string, p *pkgRun, test, action, note string) {
	p.ended[test] = action
	switch action {
	case "pass":
		r.sum.Passed++
	case "fail":
		r.sum.Failed++
		p.failed++
		r.sum.Failures = append(r.sum.Failures, strings.TrimSpace(pkg+" "+test+" "+note))
	case "skip":
		r.sum.Skipped++
		top, _, _ := strings.Cut(test, "/")
		_, allowed := r.opt.Allowed[test]
		r.sum.Skips = append(r.sum.Skips, Skip{Package: pkg, Test: test, Allowed: allowed,
			Reason: reason(p.tests[top], test)})
	}
}

// flush prints the output of every failed or unfinished test under the
// top-level test top, then forgets that test's output.
func (r *reporter) flush(pkg string, p *pkgRun, top string) {
	for _, l := range p.tests[top] {
		if action := p.ended[l.test]; action != "pass" && action != "skip" && !framing(l.text) {
			fmt.Fprint(r.w, l.text)
		}
	}
	delete(p.tests, top)
}

// packageEvent handles the end of a package's run.
func (r *reporter) packageEvent(ev event) {
	p := r.pkg(ev.Package)
	switch ev.Action {
	case "output":
		p.own = append(p.own, ev.Output)
		return
	case "pass", "fail", "skip":
	default:
		return
	}
	r.sum.Packages++
	r.finish(ev.Package, p)
	for _, text := range p.own {
		if ev.Action == "fail" && !framing(text) || strings.HasPrefix(text, "ok") || strings.HasPrefix(text, "?") {
			fmt.Fprint(r.w, text)
		}
	}
	if ev.Action == "fail" && p.failed == 0 {
		why := "(the package failed outside any test)"
		if ev.FailedBuild != "" {
			why = "[build failed]"
		}
		r.sum.Failed++
		r.sum.Failures = append(r.sum.Failures, ev.Package+" "+why)
	}
	delete(r.pkgs, ev.Package)
}

// finish fails every test of p that started but never ended: the binary
// died under it (a panic in another goroutine, a timeout, os.Exit).
func (r *reporter) finish(pkg string, p *pkgRun) {
	for _, top := range p.order {
		lines, open := p.tests[top]
		if !open {
			continue
		}
		seen := map[string]bool{top: true}
		names := []string{top}
		for _, l := range lines {
			if !seen[l.test] {
				seen[l.test] = true
				names = append(names, l.test)
			}
		}
		var died []string
		for _, name := range names {
			if _, done := p.ended[name]; !done {
				r.end(pkg, p, name, "fail", "(did not finish: the test binary died while it ran)")
				died = append(died, name)
			}
		}
		r.flush(pkg, p, top)
		for _, name := range died {
			fmt.Fprintf(r.w, "--- FAIL: %s (did not finish)\n", name)
		}
	}
}

// unfinished ends packages whose stream stopped before their end event
// (go test itself was killed).
func (r *reporter) unfinished() {
	for name, p := range r.pkgs {
		r.finish(name, p)
		for _, text := range p.own {
			if !framing(text) {
				fmt.Fprint(r.w, text)
			}
		}
		if p.failed == 0 {
			r.sum.Failed++
			r.sum.Failures = append(r.sum.Failures, name+" (its output stopped before it ended)")
		}
	}
}

// footer prints the skips, the failures and the counts, last.
func (r *reporter) footer() {
	s, w := r.sum, r.w
	list := r.opt.AllowListName
	if list == "" {
		list = "the allow-list"
	}
	if len(s.Skips) > 0 {
		fmt.Fprintf(w, "\nSkipped tests (%d):\n", len(s.Skips))
		for _, sk := range s.Skips {
			note := "NOT on " + list
			if sk.Allowed {
				note = "allowed: " + r.opt.Allowed[sk.Test]
			}
			fmt.Fprintf(w, "  SKIP %s %s: %s [%s]\n", sk.Package, sk.Test, sk.Reason, note)
		}
	}
	if len(s.Failures) > 0 {
		fmt.Fprintf(w, "\nFailed (%d):\n", len(s.Failures))
		for _, f := range s.Failures {
			fmt.Fprintf(w, "  FAIL %s\n", f)
		}
	}
	if s.Packages == 0 {
		fmt.Fprintln(w, "\nNo package reported a result: go test did not run.")
	}
	if bad := len(s.Disallowed()); bad > 0 && r.opt.Strict {
		fmt.Fprintf(w, "\n%d skipped test(s) are not on %s: CI fails on every skip it does not allow.\n", bad, list)
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", s.Passed, s.Failed, s.Skipped)
}

// reason is what a skipped test logged, on one line.
func reason(lines []line, test string) string {
	var parts []string
	for _, l := range lines {
		text := strings.TrimSpace(l.text)
		if l.test != test || text == "" || framing(l.text) || strings.HasPrefix(text, "--- SKIP") {
			continue
		}
		parts = append(parts, text)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

// framing reports whether text is one of the lines verbose go test adds
// around a test's own output.
func framing(text string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(text, p) {
			return true
		}
	}
	return false
}
