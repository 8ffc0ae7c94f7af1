package repo_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"

	"berth.dev/berth/catalog"
	"berth.dev/berth/internal/appstore"
	"berth.dev/berth/internal/appstore/repo"
	"berth.dev/berth/internal/resource"
)

// serve packages the starter charts with the Helm SDK into a directory,
// writes a repository index of them (as `helm repo index` does: relative
// URLs, sha256 digests) and serves it on a loopback HTTP server. tamper,
// when set, serves other bytes for that chart's archive.
func serve(t *testing.T, tamper string) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	starter := appstore.DirCatalog{Catalog: catalog.Name, FS: catalog.Charts}
	entries, err := starter.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var idx strings.Builder
	idx.WriteString("apiVersion: v1\nentries:\n")
	for _, e := range entries {
		ch, err := starter.Get(t.Context(), e.Name, e.Version)
		if err != nil {
			t.Fatal(err)
		}
		var files []*archive.BufferedFile
		for _, f := range ch.Files {
			files = append(files, &archive.BufferedFile{Name: f.Name, Data: f.Data})
		}
		c, err := loader.LoadFiles(files)
		if err != nil {
			t.Fatal(err)
		}
		path, err := chartutil.Save(c, dir)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&idx, "  %s:\n  - name: %s\n    version: %s\n    appVersion: %q\n    description: %q\n    digest: %s\n    urls: [charts/%s]\n",
			e.Name, e.Name, e.Version, e.AppVersion, e.Description, hex.EncodeToString(sum[:]), filepath.Base(path))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repo/index.yaml", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(idx.String())) })
	mux.HandleFunc("GET /repo/charts/{file}", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(filepath.Join(dir, filepath.Base(r.PathValue("file"))))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if tamper != "" && strings.HasPrefix(r.PathValue("file"), tamper+"-") {
			data = append(data, 0)
		}
		_, _ = w.Write(data)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRepositoryCatalog(t *testing.T) {
	srv := serve(t, "")
	c := &repo.Catalog{Catalog: "bank-charts", URL: srv.URL + "/repo/"}
	list, err := c.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Catalog+"/"+e.Name+"@"+e.Version)
	}
	if got, want := strings.Join(names, " "), "bank-charts/java-service@1.0.0 bank-charts/postgresql@1.0.0 bank-charts/redis@1.0.0 bank-charts/static-site@1.0.0"; got != want {
		t.Fatalf("listed %s, want %s", got, want)
	}
	ch, err := c.Get(t.Context(), "redis", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := loader.LoadArchive(bytes.NewReader(ch.Archive))
	if err != nil || loaded.Metadata.Name != "redis" || loaded.Metadata.Version != "1.0.0" || loaded.Schema == nil {
		t.Fatalf("fetched %v, %v", loaded, err)
	}
	if _, err := c.Get(t.Context(), "redis", "9.9.9"); !errors.Is(err, resource.ErrNotFound) {
		t.Fatalf("unknown version: %v", err)
	}

	t.Run("an archive that is not what the index says is refused", func(t *testing.T) {
		c := &repo.Catalog{Catalog: "bank-charts", URL: serve(t, "redis").URL + "/repo"}
		if _, err := c.Get(t.Context(), "redis", "1.0.0"); err == nil || !strings.Contains(err.Error(), "the index says") {
			t.Fatalf("tampered archive: %v", err)
		}
	})
	t.Run("a platform admin's allow list narrows the catalogue", func(t *testing.T) {
		cur := appstore.Curated{Catalog: c, Allow: []string{"redis@1.0.0", "static-site"}}
		list, err := cur.List(t.Context())
		if err != nil || len(list) != 2 || list[0].Name != "redis" || list[1].Name != "static-site" {
			t.Fatalf("curated %+v, %v", list, err)
		}
		_, err = cur.Get(t.Context(), "postgresql", "1.0.0")
		var ve *resource.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Path != "chart" || !strings.Contains(ve.Fields[0].Reason, "not allowed") {
			t.Fatalf("a chart not allowed: %v", err)
		}
		if _, err := cur.Get(t.Context(), "redis", "1.0.0"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("an index that is not a repository index is refused", func(t *testing.T) {
		c := &repo.Catalog{Catalog: "x", URL: srv.URL + "/repo/charts"}
		if _, err := c.List(t.Context()); err == nil {
			t.Fatal("listed a repository without an index")
		}
	})
}
