package tekton

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/pipeline"
)

// Labels Berth puts on its PipelineRuns (Tekton copies them to the TaskRun
// and its pod), besides kube's tenant and project.
const (
	LabelPipeline = "berth.dev/pipeline"
	LabelRun      = "berth.dev/run"
)

// The task results the build writes: the commit it checked out and the
// digest the registry stored the image under; and every step's result
// "message", the tail of its output when it fails.
const (
	resultCommit  = "commit"
	resultDigest  = "digest"
	resultMessage = "message"
)

// taskName is the one task of the PipelineRun; its steps are Berth's.
const taskName = "build"

// Images are the container images of the build's steps. A bank's cluster
// pulls them from its own mirror.
type Images struct {
	// Git clones (it needs git and a POSIX shell).
	Git string
	// Go builds go builds (the Go toolchain).
	Go string
	// Buildah builds and pushes dockerfile builds.
	Buildah string
	// Crane layers a go build's binary onto an empty base and pushes it
	// (go-containerregistry's crane, the :debug variant with a shell).
	Crane string
}

// DefaultImages are the public images the steps use unless told otherwise.
var DefaultImages = Images{
	Git:     "docker.io/alpine/git:2.47.2",
	Go:      "docker.io/library/golang:1.26",
	Buildah: "quay.io/buildah/stable:v1.41",
	Crane:   "gcr.io/go-containerregistry/crane:debug",
}

// names returns the namespace and name of job's PipelineRun.
func (e *Executor) names(k pipeline.RunKey) (namespace, name string) {
	namespace = e.Namespace
	if namespace == "" {
		namespace = dnsLabel(k.Tenant + "-" + k.Project + "-builds")
	}
	return namespace, dnsLabel(k.Name + "-" + strconv.FormatInt(k.Number, 10))
}

// dnsLabel returns s if it is short enough for a name, else its first
// part with a hash of the whole, so distinct inputs stay distinct.
func dnsLabel(s string) string {
	if len(s) <= 63 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return strings.TrimRight(s[:52], "-") + "-" + hex.EncodeToString(sum[:])[:10]
}

// render returns job's PipelineRun: one task whose steps are clone, build
// and push, named as Berth's steps are. Everything that comes from outside
// (repository, ref, commit, package, image) is passed as a parameter into
// the steps' environment, never spliced into a script. timeout, when not
// zero, bounds the run on the cluster as well (Tekton fails it then).
func (e *Executor) render(job pipeline.Job, timeout time.Duration) (*unstructured.Unstructured, error) {
	build, err := e.buildSteps(job.Build)
	if err != nil {
		return nil, err
	}
	img := e.images()
	steps := append([]any{step(pipeline.StepClone, img.Git, cloneScript)}, build...)
	ns, name := e.names(job.Run)
	labels := map[string]any{
		kube.LabelManagedBy: kube.ManagedBy, kube.LabelTenant: job.Run.Tenant, kube.LabelProject: job.Run.Project,
		LabelPipeline: job.Run.Name, LabelRun: strconv.FormatInt(job.Run.Number, 10),
	}
	annotations := map[string]any{}
	for k, v := range e.Annotations {
		annotations[k] = v
	}
	params := []any{
		param("repository", job.Repository), param("branch", strings.TrimPrefix(job.Ref, "refs/heads/")),
		param("commit", job.Commit), param("image", job.Image), param("package", job.Build.Package),
		param("dockerfile", orDefault(job.Build.Dockerfile, "Dockerfile")), param("context", orDefault(job.Build.Context, ".")),
	}
	paramSpecs := make([]any, len(params))
	taskParams := make([]any, len(params))
	for i, p := range params {
		n := p.(map[string]any)["name"].(string)
		paramSpecs[i] = map[string]any{"name": n, "type": "string"}
		taskParams[i] = map[string]any{"name": n, "value": "$(params." + n + ")"}
	}
	spec := map[string]any{
		"params": params,
		"pipelineSpec": map[string]any{
			"params": paramSpecs,
			"tasks": []any{map[string]any{
				"name":   taskName,
				"params": taskParams,
				"taskSpec": map[string]any{
					"params":  paramSpecs,
					"results": []any{map[string]any{"name": resultCommit, "type": "string"}, map[string]any{"name": resultDigest, "type": "string"}},
					"steps":   steps,
				},
			}},
		},
	}
	if e.ServiceAccount != "" {
		spec["taskRunTemplate"] = map[string]any{"serviceAccountName": e.ServiceAccount}
	}
	if timeout > 0 {
		spec["timeouts"] = map[string]any{"pipeline": timeout.Round(time.Second).String()}
	}
	pr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "tekton.dev/v1",
		"kind":       "PipelineRun",
		"metadata":   map[string]any{"name": name, "namespace": ns, "labels": labels, "annotations": annotations},
		"spec":       spec,
	}}
	return pr, nil
}

func (e *Executor) images() Images {
	img := e.Images
	d := DefaultImages
	img.Git, img.Go, img.Buildah, img.Crane = orDefault(img.Git, d.Git), orDefault(img.Go, d.Go),
		orDefault(img.Buildah, d.Buildah), orDefault(img.Crane, d.Crane)
	return img
}

// buildSteps returns the build and push steps of b's type.
func (e *Executor) buildSteps(b pipeline.Build) ([]any, error) {
	img := e.images()
	switch b.Type {
	case pipeline.Go:
		return []any{step(pipeline.StepBuild, img.Go, goBuildScript), step(pipeline.StepPush, img.Crane, goPushScript)}, nil
	case pipeline.Dockerfile:
		return []any{step(pipeline.StepBuild, img.Buildah, dockerBuildScript), step(pipeline.StepPush, img.Buildah, dockerPushScript)}, nil
	}
	return nil, fmt.Errorf("build type %q: not built by the Tekton executor", b.Type)
}

// step is one Tekton step running body under sh: its output goes to the
// step's log, and when it fails the last 2 KiB of it become the step's
// result "message", which Berth shows as the step's failure.
func step(name, image, body string) map[string]any {
	env := []any{}
	for _, p := range []string{"repository", "branch", "commit", "image", "package", "dockerfile", "context"} {
		env = append(env, map[string]any{"name": strings.ToUpper(p), "value": "$(params." + p + ")"})
	}
	return map[string]any{
		"name":    name,
		"image":   image,
		"env":     env,
		"results": []any{map[string]any{"name": resultMessage, "type": "string"}},
		"script": "#!/bin/sh\nout=/workspace/.berth-" + name + ".log\n(\nset -eu\n" + body + ") >\"$out\" 2>&1\nrc=$?\ncat \"$out\"\n" +
			"if [ \"$rc\" -ne 0 ]; then tail -c 2048 \"$out\" > \"$(step.results." + resultMessage + ".path)\"; fi\nexit \"$rc\"\n",
	}
}

const cloneScript = `git -c protocol.ext.allow=never clone --quiet --no-checkout --single-branch --branch "$BRANCH" -- "$REPOSITORY" /workspace/src
cd /workspace/src
git checkout --quiet --detach "${COMMIT:-refs/remotes/origin/$BRANCH}"
git rev-parse HEAD | tr -d '\n' > "$(results.commit.path)"
echo "checked out $REPOSITORY at $(cat "$(results.commit.path)")"
`

const goBuildScript = `cd /workspace/src
mkdir -p /workspace/out
CGO_ENABLED=0 go build -trimpath -o /workspace/out/app "$PACKAGE"
`

const goPushScript = `cd /workspace/out
tar -cf /workspace/layer.tar app
crane append --new_layer /workspace/layer.tar --new_tag "$IMAGE"
crane mutate "$IMAGE" --entrypoint /app --user 65532 --tag "$IMAGE"
crane digest "$IMAGE" | tr -d '\n' > "$(results.digest.path)"
echo "pushed $IMAGE@$(cat "$(results.digest.path)")"
`

const dockerBuildScript = `cd /workspace/src
buildah --root /workspace/containers --storage-driver vfs bud --isolation chroot -f "$DOCKERFILE" -t "$IMAGE" "$CONTEXT"
`

const dockerPushScript = `buildah --root /workspace/containers --storage-driver vfs push --digestfile "$(results.digest.path)" "$IMAGE"
echo "pushed $IMAGE@$(cat "$(results.digest.path)")"
`

func param(name, value string) any { return map[string]any{"name": name, "value": value} }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
