package localcluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// waitHealthy polls url until it answers 200, the process exits, ctx ends or
// limit passes. The API server is probed with the admin client; other
// components serve self-signed certificates on loopback, so their
// certificates are not verified.
func waitHealthy(ctx context.Context, p *process, url string, cfg *rest.Config, limit time.Duration) error {
	client, err := probeClient(url, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if p.exited() {
			return p.exitError()
		}
		if last = probe(ctx, client, url); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy at %s: %v; last log lines:\n%s", p.name, url, last, LogTail(p.log, 15))
		case <-p.done:
		case <-tick.C:
		}
	}
}

// Probe checks one health URL of a running cluster's component.
func Probe(ctx context.Context, url string, cfg *rest.Config) error {
	client, err := probeClient(url, cfg)
	if err != nil {
		return err
	}
	return probe(ctx, client, url)
}

func probeClient(url string, cfg *rest.Config) (*http.Client, error) {
	if cfg != nil && strings.HasPrefix(url, cfg.Host) {
		return rest.HTTPClientFor(cfg)
	}
	return &http.Client{Transport: &http.Transport{
		// Loopback only, to the component's own self-signed certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	}}, nil
}

func probe(ctx context.Context, client *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
