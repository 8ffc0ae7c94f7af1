package local

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Bounds of one layer made from a build's output.
const (
	maxLayerFiles = 100_000
	maxLayerBytes = 4 << 30
)

// epoch is the time of every file in the layers Berth makes, so the same
// output makes the same digest.
var epoch = time.Unix(0, 0)

// dirLayer returns a layer holding the files under root that keep
// selects (by their path relative to root; nil: all), placed under the
// directory at (such as "site" or "app/classes"), readable by every user.
// Symbolic links are kept as links, never followed; the directories on
// the way to each file are written before it.
func dirLayer(root, at string, keep func(rel string) bool) (v1.Layer, int, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var dir func(p string) error
	dir = func(p string) error {
		if p == "." || p == "/" || dirs[p] {
			return nil
		}
		if err := dir(path.Dir(p)); err != nil {
			return err
		}
		dirs[p] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: 0o755, ModTime: epoch})
	}
	var files int
	var size int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || d.IsDir() || (keep != nil && !keep(filepath.ToSlash(rel))) {
			return err
		}
		name := path.Join(at, filepath.ToSlash(rel))
		if files++; files > maxLayerFiles {
			return fmt.Errorf("more than %d files", maxLayerFiles)
		}
		if err := dir(path.Dir(name)); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch})
		case !info.Mode().IsRegular():
			return nil // sockets, devices and pipes have no place in an image
		}
		if size += info.Size(); size > maxLayerBytes {
			return fmt.Errorf("more than %d bytes", int64(maxLayerBytes))
		}
		mode := int64(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: info.Size(), ModTime: epoch}); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, info.Size())
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("layer of %s: %w", filepath.Base(root), err)
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	return l, files, err
}

// baseImage reads the base image ref from its registry (an empty base
// when ref is empty); the labels record which base, pinned by digest.
func baseImage(ctx context.Context, ref string, labels map[string]string, log io.Writer) (v1.Image, error) {
	if ref == "" {
		return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), nil
	}
	r, err := ParseRef(ref)
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", ref, err)
	}
	img, err := remote.Image(r, append(remoteOpts(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))...)
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	labels["org.opencontainers.image.base.name"] = ref
	labels["org.opencontainers.image.base.digest"] = d.String()
	fmt.Fprintf(log, "base image %s@%s\n", ref, d)
	return img, nil
}

// layered appends layers to base and sets its configuration: the labels
// added to the base's, then fn's changes.
func layered(base v1.Image, layers []v1.Layer, labels map[string]string, fn func(*v1.Config)) (v1.Image, error) {
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if cf.Architecture == "" {
		cf.Architecture, cf.OS = "amd64", "linux"
	}
	if cf.Config.Labels == nil {
		cf.Config.Labels = map[string]string{}
	}
	for k, v := range labels {
		cf.Config.Labels[k] = v
	}
	fn(&cf.Config)
	return mutate.ConfigFile(img, cf)
}

// inside resolves rel under root, following links, and refuses a path
// that leaves root (an output directory that is a link to elsewhere).
func inside(root, rel string) (string, error) {
	p, err := filepath.EvalSymlinks(filepath.Join(root, filepath.Clean(rel)))
	if err != nil {
		return "", err
	}
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	if p != r && !strings.HasPrefix(p, r+string(filepath.Separator)) {
		return "", fmt.Errorf("%s leads outside the repository", rel)
	}
	info, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !info.IsDir() {
		return "", fmt.Errorf("%s is not a directory", rel)
	}
	return p, nil
}
