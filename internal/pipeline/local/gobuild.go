package local

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"berth.dev/berth/internal/pipeline"
)

// The image a go build makes: the binary at /app, run as the non-root
// user 65532 (as Berth's own image, ADR 0014).
const (
	appPath = "app"
	uid     = 65532
)

// goBuild compiles a Go package into a static binary and layers it onto
// an empty base.
type goBuild struct {
	e   *Executor
	img v1.Image
}

func (g *goBuild) build(ctx context.Context, job pipeline.Job, src string, log io.Writer) error {
	out := filepath.Join(job.WorkDir, "out", "app")
	cache := func(name string) string { return filepath.Join(job.CacheDir, name) }
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=mod",
		"GOCACHE=" + cache("go-build"), "GOMODCACHE=" + cache("go-mod"), "HOME=" + job.WorkDir, "GOTOOLCHAIN=local"}
	if err := g.e.run(ctx, log, src, env, g.e.bin(g.e.Go, "go"), "build", "-trimpath", "-o", out, "./"+filepath.Clean(job.Build.Package)); err != nil {
		return err
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	g.img, err = appImage(bin, job.Labels)
	if err != nil {
		return err
	}
	d, err := g.img.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "image %s: %d-byte binary over an empty base, user %d\n", d, len(bin), uid)
	return nil
}

func (g *goBuild) push(ctx context.Context, job pipeline.Job, log io.Writer) (pipeline.Artifact, error) {
	return pushImage(ctx, g.img, job.Image, log)
}

// appImage is one layer over an empty base: the binary, and /etc/passwd
// and /etc/group naming the non-root user.
func appImage(bin []byte, labels map[string]string) (v1.Image, error) {
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs(bin))), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Config.Entrypoint = []string{"/" + appPath}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.Labels = labels
	return mutate.ConfigFile(img, cf)
}

// rootfs is the layer's tar, with fixed times so the same binary makes
// the same digest.
func rootfs(bin []byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	at := time.Unix(0, 0)
	file := func(name string, mode int64, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: at})
		_, _ = tw.Write(data)
	}
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, ModTime: at})
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: at})
	file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\napp:x:%d:%d:app:/tmp:/sbin/nologin\n", uid, uid))
	file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\napp:x:%d:\n", uid))
	file(appPath, 0o755, bin)
	_ = tw.Close()
	return buf.Bytes()
}
