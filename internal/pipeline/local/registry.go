package local

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"berth.dev/berth/internal/pipeline"
)

// ParseRef reads an image reference; a registry on loopback is reached
// over plain HTTP (the local registry of `make run` and the tests), any
// other over HTTPS with the Docker config's credentials.
func ParseRef(ref string) (name.Reference, error) {
	var opts []name.Option
	host := strings.SplitN(ref, "/", 2)[0]
	if strings.HasPrefix(host, "127.0.0.1:") || strings.HasPrefix(host, "localhost:") || strings.HasPrefix(host, "[::1]:") {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(ref, opts...)
}

func remoteOpts(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

// RemoteDigest asks ref's registry for the digest of ref's manifest.
func RemoteDigest(ctx context.Context, ref string) (string, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(r, remoteOpts(ctx)...)
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// Tags lists the tags of repository repo in its registry.
func Tags(ctx context.Context, repo string) ([]string, error) {
	r, err := ParseRef(repo)
	if err != nil {
		return nil, err
	}
	return remote.List(r.Context(), remoteOpts(ctx)...)
}

func pushImage(ctx context.Context, img v1.Image, ref string, log io.Writer) (pipeline.Artifact, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return pipeline.Artifact{}, err
	}
	if err := remote.Write(r, img, remoteOpts(ctx)...); err != nil {
		return pipeline.Artifact{}, fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return pipeline.Artifact{}, err
	}
	fmt.Fprintf(log, "pushed %s (%s)\n", ref, d)
	return pipeline.Artifact{Image: ref, Digest: d.String()}, nil
}
