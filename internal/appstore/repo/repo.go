// Package repo is a catalogue of the app store over a Helm chart
// repository: its index.yaml and the packaged charts it lists, fetched
// over HTTP(S) (docs/app-store.md).
package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/resource"
)

// maxIndexBytes bounds a repository's index.yaml.
const maxIndexBytes = 8 << 20

// Catalog is the chart repository at URL, named Catalog. It reads the
// index on every call: a catalogue is read when a person browses or
// installs, not in a loop.
type Catalog struct {
	Catalog string
	URL     string
	// Client makes the requests (default: one with a 30 s timeout).
	Client *http.Client
}

var _ appstore.Catalog = (*Catalog)(nil)

// Name implements appstore.Catalog.
func (c *Catalog) Name() string { return c.Catalog }

// index is the part of a repository's index.yaml Berth reads.
type index struct {
	APIVersion string                  `json:"apiVersion"`
	Entries    map[string][]indexEntry `json:"entries"`
}

type indexEntry struct {
	Name        string   `json:"name"`
	Version     string   `json:"version"`
	AppVersion  string   `json:"appVersion"`
	Description string   `json:"description"`
	URLs        []string `json:"urls"`
	Digest      string   `json:"digest"`
}

func (c *Catalog) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *Catalog) get(ctx context.Context, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", c.Catalog, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("catalog %s: GET %s: %s", c.Catalog, u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("catalog %s: GET %s: %w", c.Catalog, u, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("catalog %s: GET %s: over %d bytes", c.Catalog, u, limit)
	}
	return data, nil
}

func (c *Catalog) index(ctx context.Context) (index, error) {
	data, err := c.get(ctx, strings.TrimRight(c.URL, "/")+"/index.yaml", maxIndexBytes)
	if err != nil {
		return index{}, err
	}
	var idx index
	if err := yaml.Unmarshal(data, &idx); err != nil {
		return index{}, fmt.Errorf("catalog %s: index.yaml: %w", c.Catalog, err)
	}
	if idx.APIVersion != "v1" {
		return index{}, fmt.Errorf("catalog %s: index.yaml: apiVersion %q, want v1", c.Catalog, idx.APIVersion)
	}
	return idx, nil
}

// List implements appstore.Catalog: every version of every chart.
func (c *Catalog) List(ctx context.Context) ([]appstore.Entry, error) {
	idx, err := c.index(ctx)
	if err != nil {
		return nil, err
	}
	var out []appstore.Entry
	for _, versions := range idx.Entries {
		for _, e := range versions {
			out = append(out, appstore.Entry{Catalog: c.Catalog, Name: e.Name, Version: e.Version, AppVersion: e.AppVersion, Description: e.Description})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out, nil
}

// Get implements appstore.Catalog: the packaged chart, checked against
// the index's digest when it has one.
func (c *Catalog) Get(ctx context.Context, chart, version string) (appstore.Chart, error) {
	idx, err := c.index(ctx)
	if err != nil {
		return appstore.Chart{}, err
	}
	for _, e := range idx.Entries[chart] {
		if e.Version != version {
			continue
		}
		if len(e.URLs) == 0 {
			return appstore.Chart{}, fmt.Errorf("catalog %s: chart %s %s has no URL", c.Catalog, chart, version)
		}
		u, err := c.resolve(e.URLs[0])
		if err != nil {
			return appstore.Chart{}, err
		}
		data, err := c.get(ctx, u, appstore.MaxArchiveBytes)
		if err != nil {
			return appstore.Chart{}, err
		}
		if e.Digest != "" {
			sum := sha256.Sum256(data)
			if got := hex.EncodeToString(sum[:]); got != strings.TrimPrefix(e.Digest, "sha256:") {
				return appstore.Chart{}, fmt.Errorf("catalog %s: chart %s %s: digest %s, the index says %s", c.Catalog, chart, version, got, e.Digest)
			}
		}
		return appstore.Chart{Archive: data}, nil
	}
	return appstore.Chart{}, fmt.Errorf("chart %s %s in catalog %s: %w", chart, version, c.Catalog, resource.ErrNotFound)
}

// resolve makes a chart URL of the index absolute, relative to the
// repository's URL; only http and https are followed.
func (c *Catalog) resolve(ref string) (string, error) {
	base, err := url.Parse(strings.TrimRight(c.URL, "/") + "/")
	if err != nil {
		return "", fmt.Errorf("catalog %s: %w", c.Catalog, err)
	}
	u, err := base.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("catalog %s: chart URL %q: %w", c.Catalog, ref, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("catalog %s: chart URL %q: only http and https", c.Catalog, ref)
	}
	return u.String(), nil
}
