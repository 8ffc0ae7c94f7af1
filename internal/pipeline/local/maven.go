package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/pipeline"
)

// DefaultMavenRepo is Debian's packaged Maven repository (the plugins and
// libraries of its libmaven-*-java packages: scripts/maven.sh).
const DefaultMavenRepo = "/usr/share/maven-repo"

// mavenBuild builds a Maven project without the network: every
// repository is mirrored to a directory on this machine (Debian's
// packaged repository by default), the application's own local
// repository under its cache. The image is jib-style: the runtime
// dependency jars, the resources and the classes as three layers under
// pipeline.AppDir, so a change to the code alone changes only the last.
type mavenBuild struct {
	e   *Executor
	img v1.Image
}

// mavenSettings mirrors every repository to the directory repo.
const mavenSettings = `<settings>
  <mirrors><mirror><id>berth-offline</id><mirrorOf>*</mirrorOf><url>%s</url></mirror></mirrors>
</settings>
`

func (m *mavenBuild) build(ctx context.Context, job pipeline.Job, src string, log io.Writer) error {
	repo := m.e.MavenRepo
	if repo == "" {
		repo = DefaultMavenRepo
	}
	settings := filepath.Join(job.WorkDir, "settings.xml")
	if err := os.WriteFile(settings, fmt.Appendf(nil, mavenSettings, "file://"+filepath.ToSlash(repo)), 0o600); err != nil {
		return err
	}
	libs := filepath.Join(job.WorkDir, "libs")
	if err := m.e.run(ctx, log, src, []string{"HOME=" + job.WorkDir, "MAVEN_OPTS=-Djava.io.tmpdir=" + job.WorkDir},
		m.e.bin(m.e.Mvn, "mvn"), "-B", "--no-transfer-progress", "-s", settings, "-Dmaven.repo.local="+filepath.Join(job.CacheDir, "maven"),
		"package", "dependency:copy-dependencies", "-DincludeScope=runtime", "-DoutputDirectory="+libs); err != nil {
		return err
	}
	if err := os.MkdirAll(libs, 0o700); err != nil { // a project without dependencies
		return err
	}
	classes, err := inside(src, "target/classes")
	if err != nil {
		return fmt.Errorf("the compiled classes: %w", err)
	}
	app := strings.TrimPrefix(pipeline.AppDir, "/")
	isClass := func(rel string) bool { return strings.HasSuffix(rel, ".class") }
	var layers []v1.Layer
	var counts []int
	for _, l := range []struct {
		dir, at string
		keep    func(string) bool
	}{
		{libs, app + "/libs", nil},
		{classes, app + "/resources", func(rel string) bool { return !isClass(rel) }},
		{classes, app + "/classes", isClass},
	} {
		layer, n, err := dirLayer(l.dir, l.at, l.keep)
		if err != nil {
			return err
		}
		layers, counts = append(layers, layer), append(counts, n)
	}
	base, err := baseImage(ctx, job.Build.Base, job.Labels, log)
	if err != nil {
		return err
	}
	m.img, err = layered(base, layers, job.Labels, func(c *v1.Config) {
		c.Entrypoint = []string{"java", "-cp", pipeline.AppDir + "/resources:" + pipeline.AppDir + "/classes:" + pipeline.AppDir + "/libs/*", job.Build.MainClass}
		c.Cmd, c.WorkingDir, c.User = nil, pipeline.AppDir, fmt.Sprintf("%d:%d", uid, uid)
	})
	if err != nil {
		return err
	}
	d, err := m.img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "image %s: layers of %d dependency jars, %d resources, %d classes; runs %s\n", d, counts[0], counts[1], counts[2], job.Build.MainClass)
	return nil
}

func (m *mavenBuild) push(ctx context.Context, job pipeline.Job, log io.Writer) (pipeline.Artifact, error) {
	return pushImage(ctx, m.img, job.Image, log)
}
