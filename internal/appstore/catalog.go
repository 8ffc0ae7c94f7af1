package appstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/resource"
)

// DirCatalog is a catalogue of chart directories, one per top-level
// folder of FS (each with its Chart.yaml): the starter catalogue embedded
// in the binary (package catalog) is one. Each chart has the one version
// its Chart.yaml says.
type DirCatalog struct {
	Catalog string
	FS      fs.FS
}

var _ Catalog = DirCatalog{}

// Name implements Catalog.
func (c DirCatalog) Name() string { return c.Catalog }

type chartYAML struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	Description string `json:"description"`
}

// List implements Catalog.
func (c DirCatalog) List(context.Context) ([]Entry, error) {
	dirs, err := fs.ReadDir(c.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", c.Catalog, err)
	}
	var out []Entry
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		data, err := fs.ReadFile(c.FS, path.Join(d.Name(), "Chart.yaml"))
		if err != nil {
			continue // not a chart
		}
		var cy chartYAML
		if err := yaml.Unmarshal(data, &cy); err != nil {
			return nil, fmt.Errorf("catalog %s: %s/Chart.yaml: %w", c.Catalog, d.Name(), err)
		}
		out = append(out, Entry{Catalog: c.Catalog, Name: cy.Name, Version: cy.Version, AppVersion: cy.AppVersion, Description: cy.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get implements Catalog: the files of the chart's folder.
func (c DirCatalog) Get(ctx context.Context, chart, version string) (Chart, error) {
	entries, err := c.List(ctx)
	if err != nil {
		return Chart{}, err
	}
	for _, e := range entries {
		if e.Name != chart {
			continue
		}
		if e.Version != version {
			return Chart{}, fmt.Errorf("chart %s %s in catalog %s (it has %s): %w", chart, version, c.Catalog, e.Version, resource.ErrNotFound)
		}
		return c.files(chart)
	}
	return Chart{}, fmt.Errorf("chart %s in catalog %s: %w", chart, c.Catalog, resource.ErrNotFound)
}

func (c DirCatalog) files(dir string) (Chart, error) {
	var out Chart
	size := 0
	err := fs.WalkDir(c.FS, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(c.FS, p)
		if err != nil {
			return err
		}
		if size += len(data); size > MaxArchiveBytes {
			return fmt.Errorf("chart %s is over %d bytes", dir, MaxArchiveBytes)
		}
		out.Files = append(out.Files, File{Name: strings.TrimPrefix(p, dir+"/"), Data: data})
		return nil
	})
	if err != nil {
		return Chart{}, fmt.Errorf("catalog %s: %w", c.Catalog, err)
	}
	return out, nil
}

// Curated is a catalogue narrowed to the charts a platform admin allows:
// Allow holds "chart" (every version) or "chart@version"; empty allows
// every chart.
type Curated struct {
	Catalog
	Allow []string
}

func (c Curated) allowed(chart, version string) bool {
	if len(c.Allow) == 0 {
		return true
	}
	for _, a := range c.Allow {
		if a == chart || a == chart+"@"+version {
			return true
		}
	}
	return false
}

// List implements Catalog: the allowed entries.
func (c Curated) List(ctx context.Context) ([]Entry, error) {
	all, err := c.Catalog.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range all {
		if c.allowed(e.Name, e.Version) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Get implements Catalog: an allowed chart version, else a field error
// at "chart".
func (c Curated) Get(ctx context.Context, chart, version string) (Chart, error) {
	if !c.allowed(chart, version) {
		return Chart{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "chart",
			Reason: fmt.Sprintf("chart %s %s of catalog %s is not allowed on this platform", chart, version, c.Name())}}}
	}
	return c.Catalog.Get(ctx, chart, version)
}
