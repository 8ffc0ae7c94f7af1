package local

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth.dev/berth/internal/pipeline"
)

// npmBuild builds a Node static front end: npm ci from the lockfile, npm
// run build, and the output directory layered onto the base image under
// pipeline.SiteDir. npm's cache is the application's, so a warm cache
// installs without the registry.
type npmBuild struct {
	e   *Executor
	img v1.Image
}

func (n *npmBuild) build(ctx context.Context, job pipeline.Job, src string, log io.Writer) error {
	env := []string{"HOME=" + job.WorkDir, "npm_config_cache=" + filepath.Join(job.CacheDir, "npm"),
		"npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false"}
	npm := n.e.bin(n.e.Npm, "npm")
	if err := n.e.run(ctx, log, src, env, npm, "ci", "--prefer-offline"); err != nil {
		return err
	}
	if err := n.e.run(ctx, log, src, env, npm, "run", "build"); err != nil {
		return err
	}
	output := job.Build.Output
	if output == "" {
		output = "dist"
	}
	out, err := inside(src, output)
	if err != nil {
		return fmt.Errorf("build.output: %w", err)
	}
	layer, files, err := dirLayer(out, strings.TrimPrefix(pipeline.SiteDir, "/"), nil)
	if err != nil {
		return err
	}
	base, err := baseImage(ctx, job.Build.Base, job.Labels, log)
	if err != nil {
		return err
	}
	n.img, err = layered(base, []v1.Layer{layer}, job.Labels, func(*v1.Config) {})
	if err != nil {
		return err
	}
	d, err := n.img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "image %s: %d files of %s at %s\n", d, files, output, pipeline.SiteDir)
	return nil
}

func (n *npmBuild) push(ctx context.Context, job pipeline.Job, log io.Writer) (pipeline.Artifact, error) {
	return pushImage(ctx, n.img, job.Image, log)
}
