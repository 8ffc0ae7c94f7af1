package prom

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"berth.dev/berth/internal/alert"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/slo"
)

// Options say where Prometheus and Alertmanager read what Berth writes.
type Options struct {
	// RulesDir is the directory of rule files Prometheus loads
	// (rule_files: [RulesDir/*.yml]); Berth owns its berth_*.yml files.
	RulesDir string
	// PrometheusURL is reloaded (POST /-/reload, --web.enable-lifecycle)
	// after a rule file changed.
	PrometheusURL string
	// AlertmanagerConfig is the configuration file Berth writes whole;
	// AlertmanagerURL is reloaded after it changed.
	AlertmanagerConfig string
	AlertmanagerURL    string
	// HookBase is the API's address as Alertmanager reaches it, e.g.
	// http://127.0.0.1:8080/api/v1.
	HookBase string
	// Timing is Alertmanager's grouping (zero: alert.DefaultTiming).
	Timing alert.Timing
}

// Publisher keeps Prometheus's rule files and Alertmanager's configuration
// equal to the rules, SLOs and receivers in the database: it renders everything
// on every change it hears of (change.Alert) and periodically, writes
// what differs and reloads the process that reads it. A failed reload is
// tried again at the next pass.
type Publisher struct {
	db     platform.Transactor
	o      Options
	log    *slog.Logger
	client *http.Client
	kick   chan struct{}

	mu    sync.Mutex
	dirty map[string]bool // "prometheus", "alertmanager": a reload is owed
}

// NewPublisher returns the publisher of db's alerting to o.
func NewPublisher(db platform.Transactor, o Options, log *slog.Logger) *Publisher {
	if o.Timing == (alert.Timing{}) {
		o.Timing = alert.DefaultTiming
	}
	return &Publisher{db: db, o: o, log: log, client: &http.Client{Timeout: 10 * time.Second}, kick: make(chan struct{}, 1),
		dirty: map[string]bool{"prometheus": true, "alertmanager": true}}
}

// Subscribe has a change of any project's alerting publish again.
func (p *Publisher) Subscribe(b *change.Bus) {
	b.Subscribe(func(change.Changed) {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}, change.Alert)
}

// Run publishes at once, then on every change and every resync, until ctx
// ends.
func (p *Publisher) Run(ctx context.Context, resync time.Duration) {
	t := time.NewTicker(resync)
	defer t.Stop()
	for {
		if err := p.Publish(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("publish alerting", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-t.C:
		}
	}
}

// Publish renders and writes everything, and reloads what changed.
func (p *Publisher) Publish(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	files, amConfig, err := p.render(ctx)
	if err != nil {
		return err
	}
	changed, err := syncDir(p.o.RulesDir, files)
	if err != nil {
		return err
	}
	p.dirty["prometheus"] = p.dirty["prometheus"] || changed
	wrote, err := writeIfChanged(p.o.AlertmanagerConfig, amConfig)
	if err != nil {
		return err
	}
	p.dirty["alertmanager"] = p.dirty["alertmanager"] || wrote
	for name, url := range map[string]string{"prometheus": p.o.PrometheusURL, "alertmanager": p.o.AlertmanagerURL} {
		if !p.dirty[name] {
			continue
		}
		if err := p.reload(ctx, url); err != nil {
			return fmt.Errorf("reload %s: %w", name, err)
		}
		p.dirty[name] = false
		p.log.Info("alerting reloaded", "process", name)
	}
	return nil
}

// render returns the rule files by name and Alertmanager's configuration.
func (p *Publisher) render(ctx context.Context) (map[string][]byte, []byte, error) {
	var rules []alert.Rule
	var slos []slo.SLO
	var receivers []alert.Receiver
	places := map[string]map[string]alert.Place{} // by tenant/project, environment
	err := p.db.View(ctx, func(tx platform.Tx) (err error) {
		if rules, err = tx.AllAlertRules(ctx); err != nil {
			return err
		}
		if slos, err = tx.AllSLOs(ctx); err != nil {
			return err
		}
		if receivers, err = tx.AllAlertReceivers(ctx); err != nil {
			return err
		}
		type placed struct{ tenant, project, env, name string }
		var all []placed
		for _, r := range rules {
			all = append(all, placed{r.Tenant, r.Project, r.Environment, "alert rule " + r.Name})
		}
		for _, s := range slos {
			all = append(all, placed{s.Tenant, s.Project, s.Environment, "SLO " + s.Name})
		}
		for _, r := range all {
			proj := r.tenant + "/" + r.project
			if _, ok := places[proj][r.env]; ok {
				continue
			}
			env, err := tx.GetEnvironment(ctx, r.tenant, r.project, r.env)
			if err != nil {
				return fmt.Errorf("environment of %s of %s: %w", r.name, proj, err)
			}
			if places[proj] == nil {
				places[proj] = map[string]alert.Place{}
			}
			places[proj][r.env] = alert.Place{Cluster: env.Cluster, Namespace: env.Namespace}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read alerting: %w", err)
	}
	byProject := map[string][]alert.Rule{}
	projects := map[string]bool{}
	for _, r := range rules {
		byProject[r.Tenant+"/"+r.Project] = append(byProject[r.Tenant+"/"+r.Project], r)
		projects[r.Tenant+"/"+r.Project] = true
	}
	sloRules := map[string][]alert.PromRule{} // AllSLOs is by name
	for _, s := range slos {
		proj := s.Tenant + "/" + s.Project
		sloRules[proj] = append(sloRules[proj], s.Rules(places[proj][s.Environment])...)
		projects[proj] = true
	}
	files := map[string][]byte{}
	for proj := range projects {
		f, err := alert.RuleFile(proj, byProject[proj], sloRules[proj], places[proj])
		if err != nil {
			return nil, nil, err
		}
		files["berth_"+strings.ReplaceAll(proj, "/", "_")+".yml"] = f
	}
	am, err := alert.AlertmanagerConfig(receivers, p.o.HookBase, p.o.Timing)
	return files, am, err
}

// syncDir makes dir's berth_*.yml files exactly files, reporting whether
// anything changed.
func syncDir(dir string, files map[string][]byte) (bool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	changed := false
	for name, data := range files {
		wrote, err := writeIfChanged(filepath.Join(dir, name), data)
		if err != nil {
			return false, err
		}
		changed = changed || wrote
	}
	old, err := filepath.Glob(filepath.Join(dir, "berth_*.yml"))
	if err != nil {
		return false, err
	}
	for _, path := range old {
		if _, keep := files[filepath.Base(path)]; keep {
			continue
		}
		if err := os.Remove(path); err != nil {
			return false, err
		}
		changed = true
	}
	return changed, nil
}

// writeIfChanged replaces path with data (0600, atomically) unless it
// holds data already.
func writeIfChanged(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return false, err
	}
	return true, nil
}

func (p *Publisher) reload(ctx context.Context, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/-/reload", nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
