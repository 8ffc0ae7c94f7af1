package local_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"berth.dev/berth/internal/pipeline"
	"berth.dev/berth/internal/pipeline/local"
	"berth.dev/berth/internal/pipeline/pipelinetest"
)

// pushBase pushes a base image to ref: one layer holding etc/base-release,
// an entrypoint and a label, as a bank's own base image would have.
func pushBase(t *testing.T, ref string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := []byte("berth test base\n")
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/base-release", Mode: 0o644, Size: int64(len(data))})
	_, _ = tw.Write(data)
	_ = tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Config(img, v1.Config{Entrypoint: []string{"/bin/httpd", "-f"}, Labels: map[string]string{"base": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := local.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return img
}

// layerFiles lists the regular files of each layer of img.
func layerFiles(t *testing.T, img v1.Image) [][]string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]string, len(layers))
	eachEntry(t, img, func(i int, h *tar.Header, _ io.Reader) {
		if h.Typeflag == tar.TypeReg {
			out[i] = append(out[i], h.Name)
		}
	})
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}

func pulled(t *testing.T, ref string) v1.Image {
	t.Helper()
	r, err := local.ParseRef(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestNpmBuildLayersTheSiteOntoTheBase builds a Node static front end
// (npm ci, npm run build) and reads the pushed image back: the base's
// layer and configuration are kept, the build's output is one more layer
// under /site holding what the commit's build wrote, the base is recorded
// by digest, and npm used the application's cache.
func TestNpmBuildLayersTheSiteOntoTheBase(t *testing.T) {
	git := pipelinetest.StartGit(t)
	reg := pipelinetest.StartRegistry(t)
	base := pushBase(t, reg+"/base/httpd:1")
	repo := git.NewRepo("site", pipelinetest.NodeSite("welcome, teller"))
	j := job(t, repo.URL, reg+"/bank/site:r1", pipeline.Build{Type: pipeline.Npm, Base: reg + "/base/httpd:1"})
	var s steps
	art, err := (&local.Executor{}).Build(t.Context(), j, &s)
	if err != nil {
		t.Fatalf("build: %v\nbuild log:\n%s", err, s.logs[pipeline.StepBuild])
	}
	img := pulled(t, reg+"/bank/site:r1")
	if d, _ := img.Digest(); d.String() != art.Digest {
		t.Errorf("the registry has %s, the executor says %s", d, art.Digest)
	}
	files := layerFiles(t, img)
	want := [][]string{{"etc/base-release"}, {"site/assets/app.js", "site/index.html"}}
	if !slices.EqualFunc(files, want, slices.Equal) {
		t.Errorf("layers %v, want %v", files, want)
	}
	if got := string(fileIn(t, img, "site/index.html")); got != "<h1>welcome, teller</h1>\n" {
		t.Errorf("site/index.html is %q", got)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	baseDigest, _ := base.Digest()
	if strings.Join(cf.Config.Entrypoint, " ") != "/bin/httpd -f" || cf.Config.Labels["base"] != "yes" ||
		cf.Config.Labels["org.opencontainers.image.base.digest"] != baseDigest.String() {
		t.Errorf("config: entrypoint %v, labels %v; want the base's entrypoint and label and base digest %s", cf.Config.Entrypoint, cf.Config.Labels, baseDigest)
	}
	if _, err := os.Stat(filepath.Join(j.CacheDir, "npm")); err != nil {
		t.Errorf("npm did not use the application's cache: %v", err)
	}
}

// TestNpmOutputOutsideTheRepositoryIsRefused: an output directory that is
// a link out of the repository fails the build naming build.output, and
// nothing is pushed.
func TestNpmOutputOutsideTheRepositoryIsRefused(t *testing.T) {
	git := pipelinetest.StartGit(t)
	reg := pipelinetest.StartRegistry(t)
	files := pipelinetest.NodeSite("x")
	files["build.js"] = "// builds nothing\n"
	repo := git.NewRepo("escape", files)
	if err := os.Symlink("/etc", filepath.Join(repo.Dir, "dist")); err != nil {
		t.Fatal(err)
	}
	repo.Commit(nil, "dist is /etc")
	var s steps
	_, err := (&local.Executor{}).Build(t.Context(), job(t, repo.URL, reg+"/bank/escape:r1", pipeline.Build{Type: pipeline.Npm}), &s)
	if err == nil || !strings.Contains(err.Error(), "build.output") || !strings.Contains(err.Error(), "outside the repository") {
		t.Fatalf("got %v, want build.output refused as outside the repository", err)
	}
	if slices.Contains(s.order, pipeline.StepPush) {
		t.Errorf("pushed: %v", s.order)
	}
}

// TestMavenBuildIsThreeLayersThatRun builds a Maven project offline
// (Debian's packaged repository) with a dependency, and reads the pushed
// image back: the base's layer, then the dependency jars, the resources
// and the classes as three layers under /app; the program unpacked from
// those layers runs with the image's class path and prints the commit's
// greeting.
func TestMavenBuildIsThreeLayersThatRun(t *testing.T) {
	for _, bin := range []string{"mvn", "java"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is missing: run scripts/maven.sh (make test does): %v", bin, err)
		}
	}
	git := pipelinetest.StartGit(t)
	reg := pipelinetest.StartRegistry(t)
	pushBase(t, reg+"/base/jre:17")
	repo := git.NewRepo("teller", pipelinetest.MavenService("hello from maven"))
	j := job(t, repo.URL, reg+"/bank/teller:r1", pipeline.Build{Type: pipeline.Maven, MainClass: "bank.teller.Main", Base: reg + "/base/jre:17"})
	var s steps
	if _, err := (&local.Executor{}).Build(t.Context(), j, &s); err != nil {
		t.Fatalf("build: %v\nbuild log:\n%s", err, s.logs[pipeline.StepBuild])
	}
	img := pulled(t, reg+"/bank/teller:r1")
	files := layerFiles(t, img)
	want := [][]string{{"etc/base-release"}, {"app/libs/commons-cli-1.5.0.jar"}, {"app/resources/greeting.txt"}, {"app/classes/bank/teller/Main.class"}}
	if !slices.EqualFunc(files, want, slices.Equal) {
		t.Fatalf("layers %v, want %v", files, want)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	ep := cf.Config.Entrypoint
	if len(ep) != 4 || ep[0] != "java" || ep[1] != "-cp" || ep[3] != "bank.teller.Main" || cf.Config.User != "65532:65532" {
		t.Fatalf("config: entrypoint %v, user %q", ep, cf.Config.User)
	}
	root := t.TempDir()
	for _, f := range slices.Concat(want[1:]...) {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, fileIn(t, img, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cp := strings.ReplaceAll(ep[2], "/app", filepath.Join(root, "app"))
	out, err := exec.CommandContext(t.Context(), "java", "-cp", cp, ep[3]).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "hello from maven" {
		t.Errorf("the image's program says %q, %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(j.CacheDir, "maven", "commons-cli", "commons-cli", "1.5.0")); err != nil {
		t.Errorf("the dependency is not in the application's Maven repository: %v", err)
	}
}
