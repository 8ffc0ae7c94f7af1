// Package local is the pipeline executor that runs a build's steps as
// processes on Berth's own machine: the git binary clones the pushed
// commit; a go build is compiled with CGO_ENABLED=0 and its binary layered
// onto an empty base as a non-root user with go-containerregistry (the
// way ko does, ADR 0014); an npm build's output and a maven build's jars,
// resources and classes are layered onto their base image the same way
// (Maven offline, against Debian's packaged repository); a dockerfile build is Debian's buildah (chroot
// isolation, vfs storage, no daemon). The image is pushed to its registry
// and its digest read back through the registry API. It is the executor
// of `make run` and the tests; a Tekton executor runs the same steps on a
// cluster (docs/pipelines.md).
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"berth.dev/berth/internal/pipeline"
)

// Executor runs builds as local processes.
type Executor struct {
	// Git, Go, Npm, Mvn and Buildah are the binaries (default: found on
	// PATH).
	Git, Go, Npm, Mvn, Buildah string
	// MavenRepo is the directory every Maven repository is mirrored to
	// (default DefaultMavenRepo, Debian's packaged one): maven builds never
	// reach the network.
	MavenRepo string
	// Env is the environment of the processes (default: Berth's own, which
	// carries GOPROXY and the like); HOME, caches and CGO_ENABLED are set
	// per build.
	Env []string
}

var _ pipeline.Executor = (*Executor)(nil)

// Build implements pipeline.Executor.
func (e *Executor) Build(ctx context.Context, job pipeline.Job, steps pipeline.Steps) (pipeline.Artifact, error) {
	src := filepath.Join(job.WorkDir, "src")
	var commit string
	err := step(steps, pipeline.StepClone, func(log io.Writer) (err error) {
		commit, err = e.clone(ctx, job, src, log)
		return err
	})
	if err != nil {
		return pipeline.Artifact{}, err
	}
	job.Commit = commit
	if job.Labels == nil {
		job.Labels = map[string]string{}
	}
	job.Labels["org.opencontainers.image.revision"] = commit
	job.Labels["org.opencontainers.image.source"] = job.Repository
	var b builder
	switch job.Build.Type {
	case pipeline.Go:
		b = &goBuild{e: e}
	case pipeline.Npm:
		b = &npmBuild{e: e}
	case pipeline.Maven:
		b = &mavenBuild{e: e}
	case pipeline.Dockerfile:
		b = &dockerBuild{e: e}
	default:
		return pipeline.Artifact{}, fmt.Errorf("build type %q: not built by the local executor", job.Build.Type)
	}
	if err := step(steps, pipeline.StepBuild, func(log io.Writer) error { return b.build(ctx, job, src, log) }); err != nil {
		return pipeline.Artifact{}, err
	}
	var art pipeline.Artifact
	err = step(steps, pipeline.StepPush, func(log io.Writer) (err error) {
		art, err = b.push(ctx, job, log)
		if err != nil {
			return err
		}
		got, err := RemoteDigest(ctx, art.Image)
		if err != nil {
			return fmt.Errorf("read back %s: %w", art.Image, err)
		}
		if got != art.Digest {
			return fmt.Errorf("the registry has %s at %s, not the pushed %s", got, art.Image, art.Digest)
		}
		fmt.Fprintf(log, "pushed %s@%s\n", art.Image, art.Digest)
		return nil
	})
	art.Commit = commit
	return art, err
}

// builder makes and pushes one build type's image.
type builder interface {
	build(ctx context.Context, job pipeline.Job, src string, log io.Writer) error
	push(ctx context.Context, job pipeline.Job, log io.Writer) (pipeline.Artifact, error)
}

// step runs fn as step name, announced to steps.
func step(steps pipeline.Steps, name string, fn func(log io.Writer) error) error {
	err := fn(steps.Begin(name))
	steps.End(name, err)
	return err
}

// clone fetches job's commit (or its branch's head) into dir and returns
// the commit checked out.
func (e *Executor) clone(ctx context.Context, job pipeline.Job, dir string, log io.Writer) (string, error) {
	branch := strings.TrimPrefix(job.Ref, "refs/heads/")
	git := e.bin(e.Git, "git")
	if err := e.run(ctx, log, "", nil, git, "-c", "protocol.ext.allow=never", "clone", "--quiet", "--no-checkout",
		"--single-branch", "--branch", branch, "--", job.Repository, dir); err != nil {
		return "", err
	}
	rev := job.Commit
	if rev == "" {
		rev = "refs/remotes/origin/" + branch
	}
	if err := e.run(ctx, log, dir, nil, git, "checkout", "--quiet", "--detach", rev); err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := e.run(ctx, &out, dir, nil, git, "rev-parse", "HEAD"); err != nil {
		return "", err
	}
	_, after, _ := strings.Cut(out.String(), "\n") // the first line is the command
	commit := strings.TrimSpace(after)
	fmt.Fprintf(log, "checked out %s at %s\n", job.Repository, commit)
	return commit, nil
}

func (e *Executor) bin(set, name string) string {
	if set != "" {
		return set
	}
	return name
}

// run runs a process in dir with its output to log; extra is added to the
// environment.
func (e *Executor) run(ctx context.Context, log io.Writer, dir string, extra []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, log, log
	env := e.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append(append([]string{}, env...), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1"), extra...)
	fmt.Fprintf(log, "$ %s %s\n", filepath.Base(name), strings.Join(args, " "))
	err := cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%s %s exited with %d", filepath.Base(name), args[0], exit.ExitCode())
	}
	return err
}
