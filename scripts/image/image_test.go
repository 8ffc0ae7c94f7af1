package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"berth.dev/berth/internal/pipeline/pipelinetest"
)

// TestImageIsPushedAndRunsTheBinary builds a static berth, makes the image
// with run (as `make image` does), pushes it to a real registry, pulls it
// back and checks what a container runtime reads: the config (entrypoint,
// non-root user, ports, labels) and the layer, whose binary is run.
func TestImageIsPushedAndRunsTheBinary(t *testing.T) {
	addr := pipelinetest.StartRegistry(t)
	dir := t.TempDir()
	binary := filepath.Join(dir, "berth")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X berth.dev/berth/internal/version.Version=v9.9.9-image", "-o", binary, "berth.dev/berth/cmd/berth")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ref := addr + "/bank/berth:v9.9.9"
	var out bytes.Buffer
	tarPath := filepath.Join(dir, "image.tar")
	if err := run([]string{"-binary", binary, "-ref", ref, "-push", "-tarball", tarPath, "-version", "v9.9.9", "-revision", "abc123"}, &out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tarPath); err != nil {
		t.Errorf("no tarball: %v", err)
	}
	r, err := parseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	d, _ := img.Digest()
	if got := strings.TrimSpace(out.String()); got != addr+"/bank/berth@"+d.String() {
		t.Errorf("printed %q, want the pushed digest %s", got, d)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "/usr/local/bin/berth" || c.User != "65532:65532" || cf.OS != "linux" || cf.Architecture != "amd64" ||
		c.Labels["org.opencontainers.image.version"] != "v9.9.9" || c.Labels["org.opencontainers.image.revision"] != "abc123" {
		t.Errorf("config: entrypoint %v, user %q, %s/%s, labels %v", c.Entrypoint, c.User, cf.OS, cf.Architecture, c.Labels)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || strings.Join(c.Cmd, " ") != "server --data-dir /var/lib/berth --listen :8080" {
		t.Errorf("ports %v, cmd %v", c.ExposedPorts, c.Cmd)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers, %v; want one", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	extracted := filepath.Join(dir, "extracted-berth")
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h
		if h.Name == "usr/local/bin/berth" {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(extracted, data, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	if h := files["usr/local/bin/berth"]; h == nil || h.Mode&0o111 == 0 {
		t.Fatalf("no executable usr/local/bin/berth in the layer: %v", h)
	}
	if h := files["var/lib/berth/"]; h == nil || h.Uid != 65532 {
		t.Errorf("the data directory is not the non-root user's: %+v", h)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	got, err := exec.CommandContext(ctx, extracted, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(got), "v9.9.9-image") {
		t.Errorf("the image's binary says %q, %v; want its version v9.9.9-image", got, err)
	}
}
