package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"berth.dev/berth/internal/pipeline"
)

// dockerBuild builds the repository's Dockerfile with buildah: chroot
// isolation and vfs storage, so it needs neither a daemon nor kernel
// overlay support; its storage is per application, under the cache.
type dockerBuild struct {
	e *Executor
}

func (d *dockerBuild) storage(job pipeline.Job) []string {
	root := filepath.Join(job.CacheDir, "buildah")
	return []string{"--root", filepath.Join(root, "root"), "--runroot", filepath.Join(root, "run"), "--storage-driver", "vfs"}
}

func (d *dockerBuild) build(ctx context.Context, job pipeline.Job, src string, log io.Writer) error {
	file, dir := job.Build.Dockerfile, job.Build.Context
	if file == "" {
		file = "Dockerfile"
	}
	if dir == "" {
		dir = "."
	}
	args := append(d.storage(job), "bud", "--isolation", "chroot", "--layers=false", "-f", filepath.Join(src, filepath.Clean(file)), "-t", job.Image)
	for k, v := range job.Labels {
		args = append(args, "--label", k+"="+v)
	}
	args = append(args, filepath.Join(src, filepath.Clean(dir)))
	return d.e.run(ctx, log, src, []string{"HOME=" + job.WorkDir}, d.e.bin(d.e.Buildah, "buildah"), args...)
}

func (d *dockerBuild) push(ctx context.Context, job pipeline.Job, log io.Writer) (pipeline.Artifact, error) {
	digestFile := filepath.Join(job.WorkDir, "digest")
	args := append(d.storage(job), "push", "--digestfile", digestFile)
	if r, err := ParseRef(job.Image); err == nil && r.Context().Registry.Scheme() == "http" {
		args = append(args, "--tls-verify=false")
	}
	args = append(args, job.Image, "docker://"+job.Image)
	if err := d.e.run(ctx, log, job.WorkDir, []string{"HOME=" + job.WorkDir}, d.e.bin(d.e.Buildah, "buildah"), args...); err != nil {
		return pipeline.Artifact{}, err
	}
	b, err := os.ReadFile(digestFile)
	if err != nil {
		return pipeline.Artifact{}, fmt.Errorf("the pushed digest: %w", err)
	}
	return pipeline.Artifact{Image: job.Image, Digest: strings.TrimSpace(string(b))}, nil
}
