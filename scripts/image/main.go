// Command image builds Berth's OCI image without a container engine, the
// way ko does: the static berth binary (built by `make image`) as one
// layer over an empty base with a non-root user, written as an OCI
// tarball and, with -push, pushed to a registry by reference. It uses
// go-containerregistry; nothing is pulled (ADR 0014).
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	binary := fs.String("binary", "", "the static berth binary (linux/amd64, CGO_ENABLED=0)")
	ref := fs.String("ref", "berth:dev", "image reference: REGISTRY/REPOSITORY:TAG")
	out := fs.String("tarball", "", "also write the image as a tarball here")
	push := fs.Bool("push", false, "push to the reference's registry (credentials from ~/.docker/config.json; plain HTTP for loopback registries)")
	version := fs.String("version", "dev", "the version label")
	revision := fs.String("revision", "", "the source revision label")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binary == "" {
		return fmt.Errorf("-binary: the berth binary is required")
	}
	r, err := parseRef(*ref)
	if err != nil {
		return err
	}
	img, err := build(*binary, meta{version: *version, revision: *revision, created: time.Now().UTC()})
	if err != nil {
		return err
	}
	if *out != "" {
		if err := tarball.WriteToFile(*out, r, img); err != nil {
			return fmt.Errorf("write %s: %w", *out, err)
		}
	}
	if *push {
		if err := remote.Write(r, img, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return fmt.Errorf("push %s: %w", r, err)
		}
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s@%s\n", r.Context(), d)
	return err
}

// parseRef reads a reference; a registry on loopback is reached over
// plain HTTP (the local registry of `make run` and the tests).
func parseRef(ref string) (name.Reference, error) {
	var opts []name.Option
	host := strings.SplitN(ref, "/", 2)[0]
	if strings.HasPrefix(host, "127.0.0.1:") || strings.HasPrefix(host, "localhost:") {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("-ref: %w", err)
	}
	return r, nil
}

type meta struct {
	version, revision string
	created           time.Time
}

// The image's non-root user and where the server keeps its data.
const (
	uid     = 65532
	binPath = "usr/local/bin/berth"
	dataDir = "var/lib/berth"
)

// build makes the image: one layer holding the binary, a passwd entry
// for the non-root user and its data directory.
func build(binary string, m meta) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("-binary: %w", err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs(bin, m.created))), nil
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
	cf.Architecture, cf.OS, cf.Created = "amd64", "linux", v1.Time{Time: m.created}
	cf.Config.Entrypoint = []string{"/" + binPath}
	cf.Config.Cmd = []string{"server", "--data-dir", "/" + dataDir, "--listen", ":8080"}
	cf.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cf.Config.WorkingDir = "/" + dataDir
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "9080/tcp": {}}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":    "berth",
		"org.opencontainers.image.version":  m.version,
		"org.opencontainers.image.revision": m.revision,
		"org.opencontainers.image.created":  m.created.Format(time.RFC3339),
	}
	return mutate.ConfigFile(img, cf)
}

// rootfs is the layer's tar: directories, /etc/passwd and /etc/group with
// the non-root user, the data directory it owns, and the binary.
func rootfs(bin []byte, at time.Time) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, owner int) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: at})
	}
	file := func(name string, mode int64, data []byte) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: at})
		_, _ = tw.Write(data)
	}
	for _, d := range []string{"etc", "usr", "usr/local", "usr/local/bin", "var", "var/lib"} {
		dir(d, 0o755, 0)
	}
	dir("tmp", 0o1777, 0)
	dir(dataDir, 0o700, uid)
	file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\nberth:x:%d:%d:berth:/%s:/sbin/nologin\n", uid, uid, dataDir))
	file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\nberth:x:%d:\n", uid))
	file(binPath, 0o755, bin)
	_ = tw.Close()
	return buf.Bytes()
}
