// Package pipeline is Berth's accountable build pipeline: a Pipeline of an
// application says where its source is (a Git repository and the branches
// that trigger it), how it is built into an image (go, npm, maven or
// dockerfile), and the stages that follow the
// build, each with a named owner and, where required, an approval by a
// second person (four eyes: never the one who triggered the run nor the
// one who last changed the pipeline; no admin override).
//
// A Run is one execution: triggered by a person or by a signed Git push
// webhook (the pusher is recorded as the trigger), it clones the pushed
// commit, builds and pushes the image, creates an application version
// pinned by the pushed digest with its provenance (repository, commit,
// run, build log), then walks the stages. Every state change and every
// decision is audited with its reason. The steps run on an Executor: the
// local one (processes on Berth's machine, package pipeline/local) now, a
// Tekton one later; the model does not know which runs it.
package pipeline

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/resource"
)

// Limits.
const (
	// MaxStages bounds the stages after the build.
	MaxStages = 16
	// MaxBranches bounds the branch rules of a source.
	MaxBranches = 32
	// DefaultTimeout is a run's deadline when the pipeline names none;
	// MaxTimeout the longest allowed.
	DefaultTimeout = 30 * time.Minute
	MaxTimeout     = 6 * time.Hour
	// DefaultConcurrency is how many runs of one project build at once.
	DefaultConcurrency = 2
)

// BuildType is how the source becomes an image.
type BuildType string

// The build types.
const (
	// Go: CGO_ENABLED=0 go build of a package, the binary layered onto an
	// empty base as a non-root user (ko-style, ADR 0014).
	Go BuildType = "go"
	// Npm: a Node static front end, npm ci && npm run build, its output
	// directory layered onto the base image under /site.
	Npm BuildType = "npm"
	// Maven: mvn package, offline, against the build host's Maven
	// repository; the dependency jars, resources and classes layered onto
	// the base image as three layers (jib-style) under /app.
	Maven BuildType = "maven"
	// Dockerfile: the repository's Dockerfile built by buildah.
	Dockerfile BuildType = "dockerfile"
)

// BuildTypes are the types this version builds.
func BuildTypes() []BuildType { return []BuildType{Go, Npm, Maven, Dockerfile} }

// SiteDir is where an npm build's output is in its image; AppDir where a
// maven build's layers are (AppDir/libs, AppDir/resources, AppDir/classes).
const (
	SiteDir = "/site"
	AppDir  = "/app"
)

// Key names a pipeline.
type Key struct {
	Tenant  string `json:"tenant"`
	Project string `json:"project"`
	Name    string `json:"name"`
}

// Path is the pipeline's resource path.
func (k Key) Path() string {
	return "tenants/" + k.Tenant + "/projects/" + k.Project + "/pipelines/" + k.Name
}

// Pipeline is the build and delivery path of one application.
type Pipeline struct {
	Key
	// Application is the application whose versions the pipeline makes.
	Application string   `json:"application"`
	Source      Source   `json:"source"`
	Build       Build    `json:"build"`
	Delivery    Delivery `json:"delivery"`
	// Stages follow the build, in order.
	Stages []Stage `json:"stages,omitempty"`
	// Timeout bounds a run from its start (default DefaultTimeout).
	Timeout resource.Duration `json:"timeout"`
	// Webhook says which Git server signs the push webhooks.
	Webhook Webhook `json:"webhook"`

	// Revision counts the changes of the spec; runs record the revision
	// they ran. UpdatedBy changed it last (no approver may be them).
	Revision        int64     `json:"revision"`
	ResourceVersion int64     `json:"resourceVersion"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
	UpdatedBy       string    `json:"updatedBy"`
	// SealedSecret is the webhook secret, sealed; never shown.
	SealedSecret []byte `json:"sealedSecret,omitempty"`
}

// Source is where the code is.
type Source struct {
	// Repository is the clone URL (https://, http:// or file://).
	Repository string `json:"repository"`
	// Branches are the branch rules a push must match to trigger a run:
	// names or path.Match patterns ("main", "release/*"). Empty: "main".
	Branches []string `json:"branches,omitempty"`
}

// Build is how the source becomes an image.
type Build struct {
	Type BuildType `json:"type"`
	// Image is the repository the image is pushed to, without tag:
	// "registry.example.com/bank/red-auth". Each run tags it with the run
	// number and commit; versions pin the pushed digest.
	Image string `json:"image"`
	// Owner answers for the build stage.
	Owner Owner `json:"owner"`
	// Package is the Go package to build (type go), relative to the
	// repository root: "." or "./cmd/server".
	Package string `json:"package,omitempty"`
	// Dockerfile and Context locate the Dockerfile build (type
	// dockerfile); defaults "Dockerfile" and ".".
	Dockerfile string `json:"dockerfile,omitempty"`
	Context    string `json:"context,omitempty"`
	// Output is the directory npm run build writes (type npm, default
	// "dist"), relative to the repository root.
	Output string `json:"output,omitempty"`
	// MainClass is the class the image runs (type maven):
	// java -cp /app/resources:/app/classes:/app/libs/* <MainClass>.
	MainClass string `json:"mainClass,omitempty"`
	// Base is the image the output is layered onto (types npm and maven;
	// go builds use an empty base): a repository with tag or digest, such
	// as registry.bank.example/base/httpd:1 (a web server for npm, a JRE
	// for maven). Empty: an empty base.
	Base string `json:"base,omitempty"`
}

// Delivery is what a successful build delivers: an application version of
// this tier and orchestration, its image pinned by digest.
type Delivery struct {
	Tier          string             `json:"tier"`
	Orchestration apps.Orchestration `json:"orchestration"`
}

// Stage is a step of the path after the build.
type Stage struct {
	Name  string `json:"name"`
	Owner Owner  `json:"owner"`
	// Approval "required": the stage waits for an approval by its owner
	// (or a holder of its owner role) other than the run's trigger and
	// the pipeline's last author.
	Approval Approval `json:"approval,omitempty"`
	// Environment, when set, is where the stage deploys the version.
	Environment string `json:"environment,omitempty"`
}

// Approval says whether a stage waits for a person.
type Approval string

// The approvals.
const (
	NoApproval       Approval = ""
	ApprovalRequired Approval = "required"
)

// Owner is who answers for a stage: a user, or a group — the holders of a
// role at the pipeline's project (directory groups reach roles through
// group bindings).
type Owner struct {
	User  string     `json:"user,omitempty"`
	Group authz.Role `json:"group,omitempty"`
}

func (o Owner) String() string {
	if o.User != "" {
		return "user " + o.User
	}
	return "group " + string(o.Group)
}

// Provider is a Git server whose webhooks Berth verifies.
type Provider string

// The providers.
const (
	GitHub Provider = "github"
	Gitea  Provider = "gitea"
	GitLab Provider = "gitlab"
)

// Providers are every provider.
func Providers() []Provider { return []Provider{GitHub, Gitea, GitLab} }

// Webhook configures the push webhook.
type Webhook struct {
	Provider Provider `json:"provider"`
}

// Branches returns the branch rules, "main" when none are set.
func (s Source) branches() []string {
	if len(s.Branches) == 0 {
		return []string{"main"}
	}
	return s.Branches
}

// Matches reports whether a push to ref ("refs/heads/<branch>") triggers.
func (s Source) Matches(ref string) bool {
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return false
	}
	for _, rule := range s.branches() {
		if ok, _ := path.Match(rule, b); ok {
			return true
		}
	}
	return false
}

// TimeoutOrDefault is the run deadline's length.
func (p Pipeline) TimeoutOrDefault() time.Duration {
	if p.Timeout.Duration <= 0 {
		return DefaultTimeout
	}
	return p.Timeout.Duration
}

// Validate returns every invalid field of p's spec.
func (p Pipeline) Validate() error {
	var errs resource.Errors
	errs.CheckName("tenant", p.Tenant)
	errs.CheckName("project", p.Project)
	errs.CheckName("name", p.Name)
	errs.CheckName("application", p.Application)
	validateSource(&errs, p.Source)
	validateBuild(&errs, p.Build)
	errs.CheckName("delivery.tier", p.Delivery.Tier)
	if len(p.Stages) > MaxStages {
		errs.Add("stages", "must be at most %d, got %d", MaxStages, len(p.Stages))
	}
	seen := map[string]bool{}
	for i, s := range p.Stages {
		sp := fmt.Sprintf("stages[%d]", i)
		errs.CheckName(sp+".name", s.Name)
		if seen[s.Name] || s.Name == BuildStage {
			errs.Add(sp+".name", "%q is used twice (the build stage is called %q)", s.Name, BuildStage)
		}
		seen[s.Name] = true
		validateOwner(&errs, sp+".owner", s.Owner)
		if s.Approval != NoApproval && s.Approval != ApprovalRequired {
			errs.Add(sp+".approval", "must be required or empty, got %q", s.Approval)
		}
		if s.Environment != "" {
			errs.CheckName(sp+".environment", s.Environment)
		}
		if s.Approval == ApprovalRequired && s.Owner.Group != "" && !authz.Has(s.Owner.Group, authz.PipelineApprove) {
			errs.Add(sp+".owner.group", "role %s cannot approve pipeline stages (it lacks %s)", s.Owner.Group, authz.PipelineApprove)
		}
	}
	if p.Timeout.Duration < 0 || p.Timeout.Duration > MaxTimeout {
		errs.Add("timeout", "must be between 0 (default %s) and %s, got %s", DefaultTimeout, MaxTimeout, p.Timeout.Duration)
	}
	if !slices.Contains(Providers(), p.Webhook.Provider) {
		errs.Add("webhook.provider", "must be one of github, gitea, gitlab, got %q", p.Webhook.Provider)
	}
	return errs.Err()
}

func validateSource(errs *resource.Errors, s Source) {
	r := s.Repository
	switch {
	case r == "":
		errs.Add("source.repository", "must not be empty")
	case len(r) > 1024 || strings.ContainsAny(r, " \t\r\n") || strings.HasPrefix(r, "-"):
		errs.Add("source.repository", "must be a clone URL without spaces")
	case !strings.HasPrefix(r, "https://") && !strings.HasPrefix(r, "http://") && !strings.HasPrefix(r, "file://"):
		errs.Add("source.repository", "must be an https://, http:// or file:// URL, got %q", r)
	}
	if len(s.Branches) > MaxBranches {
		errs.Add("source.branches", "must be at most %d, got %d", MaxBranches, len(s.Branches))
	}
	for i, b := range s.Branches {
		if _, err := path.Match(b, ""); err != nil || b == "" || len(b) > 200 || strings.HasPrefix(b, "-") {
			errs.Add(fmt.Sprintf("source.branches[%d]", i), "must be a branch name or pattern such as release/*, got %q", b)
		}
	}
}

func validateBuild(errs *resource.Errors, b Build) {
	switch b.Type {
	case Go:
		if !relPath(b.Package) {
			errs.Add("build.package", "must be a package path inside the repository such as . or ./cmd/server, got %q", b.Package)
		}
	case Dockerfile:
		if b.Dockerfile != "" && !relPath(b.Dockerfile) {
			errs.Add("build.dockerfile", "must be a path inside the repository, got %q", b.Dockerfile)
		}
		if b.Context != "" && !relPath(b.Context) {
			errs.Add("build.context", "must be a path inside the repository, got %q", b.Context)
		}
	case Npm:
		if b.Output != "" && !relPath(b.Output) {
			errs.Add("build.output", "must be a directory inside the repository such as dist, got %q", b.Output)
		}
	case Maven:
		if len(b.MainClass) > 255 || !javaClassRE.MatchString(b.MainClass) {
			errs.Add("build.mainClass", "must be a fully qualified Java class name such as bank.teller.Main, got %q", b.MainClass)
		}
	default:
		errs.Add("build.type", "must be one of go, npm, maven, dockerfile, got %q", b.Type)
	}
	if b.Base != "" && (b.Type == Npm || b.Type == Maven) &&
		(len(b.Base) > 255 || strings.ContainsAny(b.Base, " \t\r\n") || strings.HasPrefix(b.Base, "-") || !strings.Contains(b.Base, "/")) {
		errs.Add("build.base", "must be an image reference such as registry.example.com/base/jre:17, got %q", b.Base)
	}
	if b.Base != "" && b.Type != Npm && b.Type != Maven {
		errs.Add("build.base", "is for npm and maven builds (a go build's base is empty, a Dockerfile names its own)")
	}
	switch {
	case b.Image == "":
		errs.Add("build.image", "must not be empty")
	case len(b.Image) > 255 || strings.ContainsAny(b.Image, " \t\r\n@") || strings.Count(b.Image, "/") < 1 || strings.Contains(b.Image[strings.LastIndex(b.Image, "/"):], ":"):
		errs.Add("build.image", "must be a repository without tag or digest, such as registry.example.com/bank/red-auth, got %q", b.Image)
	}
	validateOwner(errs, "build.owner", b.Owner)
}

// javaClassRE matches a fully qualified Java class name.
var javaClassRE = regexp.MustCompile(`^([A-Za-z_$][A-Za-z0-9_$]*\.){0,30}[A-Za-z_$][A-Za-z0-9_$]*$`)

// relPath reports whether p is a clean relative path that stays inside
// the repository.
func relPath(p string) bool {
	if p == "" || len(p) > 512 || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "-") || strings.ContainsAny(p, "\x00\r\n") {
		return false
	}
	c := path.Clean(p)
	return c != ".." && !strings.HasPrefix(c, "../")
}

func validateOwner(errs *resource.Errors, at string, o Owner) {
	switch {
	case o.User == "" && o.Group == "":
		errs.Add(at, "must name a user or a group (a role at the project)")
	case o.User != "" && o.Group != "":
		errs.Add(at, "name a user or a group, not both")
	case o.User != "":
		errs.CheckUserName(at+".user", o.User)
	case authz.Validate(o.Group, authz.Scope{Tenant: "t", Project: "p"}) != nil:
		errs.Add(at+".group", "must be a role a project member can hold (developer, release-manager, …), got %q", o.Group)
	}
}
