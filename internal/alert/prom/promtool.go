// Package prom connects Berth's alerting (internal/alert) to real
// Prometheus and Alertmanager processes: it checks rules with promtool,
// writes the rule files and Alertmanager's configuration and reloads both
// (Publisher), and manages silences and reads alerts through
// Alertmanager's v2 API (Alertmanager).
package prom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"berth.dev/berth/internal/alert"
)

// Promtool checks rules with `promtool check rules`, the parser and
// template checks of the Prometheus that will load them.
type Promtool struct {
	// Path is the promtool binary (default "promtool" on PATH).
	Path string
}

var _ alert.Checker = Promtool{}

// promtoolTimeout bounds one check.
const promtoolTimeout = 20 * time.Second

// failure is the part of a promtool line after the file, position, group
// and rule that says what is wrong.
var failure = regexp.MustCompile(`^.*?: (?:\d+:\d+: )?group "[^"]*", rule \d+, "[^"]*": `)

// CheckRules implements alert.Checker: a file promtool refuses is an
// *alert.RefusedError with promtool's reasons.
func (p Promtool) CheckRules(ctx context.Context, file []byte) error {
	dir, err := os.MkdirTemp("", "berth-rules-")
	if err != nil {
		return fmt.Errorf("check rules: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		return fmt.Errorf("check rules: %w", err)
	}
	bin := p.Path
	if bin == "" {
		bin = "promtool"
	}
	ctx, cancel := context.WithTimeout(ctx, promtoolTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "check", "rules", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	if err == nil {
		return nil
	}
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || ctx.Err() != nil {
		return fmt.Errorf("run promtool: %w", err)
	}
	var reasons []string
	for _, line := range strings.Split(out.String(), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, path) {
			continue
		}
		line = strings.TrimPrefix(line, path+": ")
		reasons = append(reasons, failure.ReplaceAllString(path+": "+line, ""))
	}
	if len(reasons) == 0 {
		reasons = []string{strings.TrimSpace(out.String())}
	}
	return &alert.RefusedError{Reason: strings.Join(reasons, "; ")}
}
