package local_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/pipeline/local"
	"berth.dev/berth/internal/pipeline/pipelinetest"
)

// steps records what the executor announces.
type steps struct {
	mu    sync.Mutex
	order []string
	logs  map[string]*bytes.Buffer
	errs  map[string]error
}

func (s *steps) Begin(step string) io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil {
		s.logs, s.errs = map[string]*bytes.Buffer{}, map[string]error{}
	}
	s.order = append(s.order, step)
	s.logs[step] = &bytes.Buffer{}
	return s.logs[step]
}

func (s *steps) End(step string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs[step] = err
}

func job(t *testing.T, repo, image string, b pipeline.Build) pipeline.Job {
	return pipeline.Job{Repository: repo, Ref: "refs/heads/main", Build: b, Image: image,
		WorkDir: t.TempDir(), CacheDir: filepath.Join(t.TempDir(), "cache")}
}

// TestGoBuildIsPushedAndRunsTheProgram clones a commit from a real Git
// server, builds the Go program in it, pushes the image to a real
// registry, and reads it back: the digest the registry answers, the
// non-root config, and the binary in the layer, which prints the greeting
// of the commit built — not of a later one.
func TestGoBuildIsPushedAndRunsTheProgram(t *testing.T) {
	git := pipelinetest.StartGit(t)
	reg := pipelinetest.StartRegistry(t)
	repo := git.NewRepo("hello", pipelinetest.HelloGo("hello from one"))
	first := strings.TrimSpace(mustGit(t, repo.Dir, "rev-parse", "HEAD"))
	repo.Commit(pipelinetest.HelloGo("hello from two"), "second")

	j := job(t, repo.URL, reg+"/bank/hello:r1", pipeline.Build{Type: pipeline.Go, Package: "."})
	j.Commit = first
	var s steps
	art, err := (&local.Executor{}).Build(t.Context(), j, &s)
	if err != nil {
		t.Fatalf("build: %v\n%v", err, s.logs)
	}
	if !slices.Equal(s.order, []string{pipeline.StepClone, pipeline.StepBuild, pipeline.StepPush}) {
		t.Errorf("steps %v", s.order)
	}
	if art.Commit != first {
		t.Errorf("built commit %s, want %s", art.Commit, first)
	}
	ref, err := local.ParseRef(reg + "/bank/hello:r1")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != art.Digest {
		t.Errorf("the registry has %s, the executor says %s", desc.Digest, art.Digest)
	}
	img, err := desc.Image()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || strings.Join(cf.Config.Entrypoint, " ") != "/app" || cf.Config.Labels["org.opencontainers.image.revision"] != first {
		t.Errorf("config: user %q, entrypoint %v, labels %v", cf.Config.User, cf.Config.Entrypoint, cf.Config.Labels)
	}
	bin := extract(t, img, "app")
	out, err := exec.CommandContext(t.Context(), bin).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello from one" {
		t.Errorf("the image's program says %q, %v; want the first commit's greeting", out, err)
	}
	tags, err := local.Tags(t.Context(), reg+"/bank/hello")
	if err != nil || !slices.Contains(tags, "r1") {
		t.Errorf("tags %v, %v", tags, err)
	}
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// extract writes file name of img to a temporary executable and returns its path.
func extract(t *testing.T, img v1.Image, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.WriteFile(p, fileIn(t, img, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileIn returns the content of file name in img's layers (the last layer
// holding it wins).
func fileIn(t *testing.T, img v1.Image, name string) []byte {
	t.Helper()
	var data []byte
	found := false
	eachEntry(t, img, func(_ int, h *tar.Header, r io.Reader) {
		if strings.TrimPrefix(h.Name, "./") == name {
			var err error
			if data, err = io.ReadAll(r); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	})
	if !found {
		t.Fatalf("no %s in the image", name)
	}
	return data
}

// eachEntry calls fn with every entry of img's layers, in order, with the
// layer's index.
func eachEntry(t *testing.T, img v1.Image, fn func(layer int, h *tar.Header, r io.Reader)) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			fn(i, h, tr)
		}
		rc.Close()
	}
}

// TestFailingBuildStopsAtItsStepWithTheCompilerSaying: a commit that does
// not compile fails the build step with the compiler's message in its
// log, and nothing is pushed.
func TestFailingBuildStopsAtItsStepWithTheCompilerSaying(t *testing.T) {
	git := pipelinetest.StartGit(t)
	reg := pipelinetest.StartRegistry(t)
	repo := git.NewRepo("broken", map[string]string{"go.mod": "module example.com/broken\n\ngo 1.22\n", "main.go": "package main\n\nfunc main() { undefinedThing() }\n"})
	var s steps
	_, err := (&local.Executor{}).Build(t.Context(), job(t, repo.URL, reg+"/bank/broken:r1", pipeline.Build{Type: pipeline.Go, Package: "."}), &s)
	if err == nil || s.errs[pipeline.StepBuild] == nil {
		t.Fatalf("a broken program built: %v", err)
	}
	if !strings.Contains(s.logs[pipeline.StepBuild].String(), "undefined: undefinedThing") {
		t.Errorf("build log lacks the compiler's error:\n%s", s.logs[pipeline.StepBuild])
	}
	if slices.Contains(s.order, pipeline.StepPush) {
		t.Errorf("pushed after a failed build: %v", s.order)
	}
	if tags, _ := local.Tags(context.WithoutCancel(t.Context()), reg+"/bank/broken"); len(tags) != 0 {
		t.Errorf("tags %v after a failed build", tags)
	}
}

// TestDockerfileBuildWithBuildah builds a Dockerfile (FROM scratch, COPY:
// no base image can be pulled here) with buildah and pushes it; the
// registry's digest is the one reported and the copied file is in it.
func TestDockerfileBuildWithBuildah(t *testing.T) {
	if _, err := exec.LookPath("buildah"); err != nil {
		t.Fatalf("buildah is missing: run scripts/buildah.sh (make test does): %v", err)
	}
	git := pipelinetest.StartGit(t)
	reg := pipelinetest.StartRegistry(t)
	repo := git.NewRepo("static", map[string]string{"Dockerfile": "FROM scratch\nCOPY index.html /site/index.html\n", "index.html": "<h1>teller</h1>\n"})
	var s steps
	art, err := (&local.Executor{}).Build(t.Context(), job(t, repo.URL, reg+"/bank/static:r1", pipeline.Build{Type: pipeline.Dockerfile}), &s)
	if err != nil {
		t.Fatalf("build: %v\nbuild log:\n%s\npush log:\n%s", err, s.logs[pipeline.StepBuild], s.logs[pipeline.StepPush])
	}
	got, err := local.RemoteDigest(t.Context(), reg+"/bank/static:r1")
	if err != nil || got != art.Digest {
		t.Fatalf("registry digest %s, %v; reported %s", got, err, art.Digest)
	}
	ref, _ := local.ParseRef(reg + "/bank/static:r1")
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if data := fileIn(t, img, "site/index.html"); string(data) != "<h1>teller</h1>\n" {
		t.Errorf("site/index.html is %q", data)
	}
}
