package apps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/resource"
)

// VersionOptions qualify CreateVersion.
type VersionOptions struct {
	// Activate makes the new version the application's current one in the
	// same call, reserving its quota.
	Activate bool
	// AllowRawResources permits Version.Resources instead of a tier. The
	// API sets it only for platform admins.
	AllowRawResources bool
}

var digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

func validateVersion(v Version, opt VersionOptions) error {
	var errs resource.Errors
	errs.CheckName("tenant", v.Tenant)
	errs.CheckName("project", v.Project)
	errs.CheckName("application", v.Application)
	errs.CheckName("name", v.Name)
	if v.Chart != nil {
		validateChart(&errs, "chart", *v.Chart)
		if v.Image != "" || v.Tier != "" || v.Resources != nil {
			errs.Add("chart", "a chart version has no image, tier or resources: its objects say what runs")
		}
		return errs.Err()
	}
	switch {
	case v.Image == "":
		errs.Add("image", "must not be empty")
	case len(v.Image) > 512 || strings.ContainsAny(v.Image, " \t\r\n"):
		errs.Add("image", "must be an image reference such as registry.example.com/team/app:1.2.3")
	}
	if v.Digest != "" && !digestRE.MatchString(v.Digest) {
		errs.Add("digest", "must be sha256:<64 lowercase hex digits>")
	}
	errs.CheckLen("source.repository", v.Source.Repository, 1024)
	errs.CheckLen("source.revision", v.Source.Revision, 256)
	errs.CheckLen("source.ref", v.Source.Ref, 256)
	errs.CheckLen("source.run", v.Source.Run, 512)
	errs.CheckLen("source.buildLog", v.Source.BuildLog, 512)
	if v.Pipeline != "" {
		errs.CheckName("pipeline", v.Pipeline)
	}
	switch {
	case v.Resources != nil && !opt.AllowRawResources:
		errs.Add("resources", "raw requests and limits are for platform admins; choose a tier")
	case v.Resources != nil:
		validateResources(&errs, "resources", *v.Resources)
	case v.Tier == "":
		errs.Add("tier", "must name a resource tier")
	default:
		errs.CheckName("tier", v.Tier)
	}
	validateOrchestration(&errs, "orchestration", v.Orchestration)
	return errs.Err()
}

func validateResources(errs *resource.Errors, path string, r Resources) {
	r.Requests.Validate(errs, path+".requests")
	r.Limits.Validate(errs, path+".limits")
	for _, n := range r.Limits.Names() {
		if req, ok := r.Requests[n]; ok && r.Limits[n] < req {
			errs.Add(path+".limits."+string(n), "must not be below the request %s, got %s", req, r.Limits[n])
		}
	}
}

func validateOrchestration(errs *resource.Errors, path string, o Orchestration) {
	errs.CheckNonNegative(path+".replicas", int64(o.Replicas))
	names := map[string]bool{}
	for i, p := range o.Ports {
		pp := fmt.Sprintf("%s.ports[%d]", path, i)
		errs.CheckName(pp+".name", p.Name)
		if names[p.Name] {
			errs.Add(pp+".name", "duplicate port name %q", p.Name)
		}
		names[p.Name] = true
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			errs.Add(pp+".containerPort", "must be between 1 and 65535, got %d", p.ContainerPort)
		}
		if p.Protocol != "" && p.Protocol != "TCP" && p.Protocol != "UDP" {
			errs.Add(pp+".protocol", "must be TCP or UDP, got %q", p.Protocol)
		}
	}
	for i, e := range o.Env {
		ep := fmt.Sprintf("%s.env[%d]", path, i)
		if e.Name == "" || len(e.Name) > 253 || strings.ContainsAny(e.Name, "= \t\r\n") {
			errs.Add(ep+".name", "must be a non-empty variable name without '=' or spaces")
		}
		if e.Value != "" && e.ConfigRef != "" {
			errs.Add(ep, "set value or configRef, not both")
		}
	}
	validateConfigRefs(errs, path, o.ConfigRefs)
	for _, pr := range []struct {
		name  string
		probe *Probe
	}{{"startup", o.Probes.Startup}, {"readiness", o.Probes.Readiness}, {"liveness", o.Probes.Liveness}} {
		if pr.probe != nil {
			validateProbe(errs, path+".probes."+pr.name, *pr.probe)
		}
	}
	if as := o.Autoscaling; as != nil {
		ap := path + ".autoscaling"
		if as.MinReplicas < 1 {
			errs.Add(ap+".minReplicas", "must be at least 1, got %d", as.MinReplicas)
		}
		if as.MaxReplicas < as.MinReplicas {
			errs.Add(ap+".maxReplicas", "must not be below minReplicas %d, got %d", as.MinReplicas, as.MaxReplicas)
		}
		if v := as.TargetCPUPercent; v < 0 || v > 100 {
			errs.Add(ap+".targetCPUPercent", "must be between 1 and 100 (0: unset), got %d", v)
		}
		if v := as.TargetMemoryPercent; v < 0 || v > 100 {
			errs.Add(ap+".targetMemoryPercent", "must be between 1 and 100 (0: unset), got %d", v)
		}
		if as.TargetCPUPercent == 0 && as.TargetMemoryPercent == 0 {
			errs.Add(ap, "needs targetCPUPercent or targetMemoryPercent")
		}
	}
	switch o.ZoneSpread {
	case SpreadNone, SpreadRequired, SpreadPreferred:
	default:
		errs.Add(path+".zoneSpread", "must be required, preferred or empty, got %q", o.ZoneSpread)
	}
	errs.CheckNonNegative(path+".gracefulShutdownSeconds", int64(o.GracefulShutdownSeconds))
	validatePodLabels(errs, path+".podLabels", o.PodLabels)
	validateBandwidth(errs, path+".bandwidth", o.Bandwidth)
}

func validateProbe(errs *resource.Errors, path string, p Probe) {
	kinds := 0
	if p.HTTPPath != "" {
		kinds++
		if !strings.HasPrefix(p.HTTPPath, "/") {
			errs.Add(path+".httpPath", "must start with /")
		}
	}
	if len(p.Command) > 0 {
		kinds++
	}
	if kinds == 0 && p.Port == 0 {
		errs.Add(path, "needs httpPath and port, port (TCP) or command")
	}
	if kinds > 1 {
		errs.Add(path, "set httpPath or command, not both")
	}
	if p.HTTPPath != "" && p.Port == 0 {
		errs.Add(path+".port", "must be set for an HTTP probe")
	}
	if p.Port < 0 || p.Port > 65535 {
		errs.Add(path+".port", "must be between 1 and 65535, got %d", p.Port)
	}
	errs.CheckNonNegative(path+".initialDelaySeconds", int64(p.InitialDelaySeconds))
	errs.CheckNonNegative(path+".periodSeconds", int64(p.PeriodSeconds))
	errs.CheckNonNegative(path+".timeoutSeconds", int64(p.TimeoutSeconds))
	errs.CheckNonNegative(path+".failureThreshold", int64(p.FailureThreshold))
}

// CreateVersion records v, an immutable asset, under its application. It
// copies the tier's resources into v.Resources (raw resources need
// opt.AllowRawResources). An unknown tier is a field error at "tier". With
// opt.Activate the version becomes the application's current one.
func (s *Service) CreateVersion(ctx context.Context, st Store, a audit.Actor, v Version, opt VersionOptions) (Version, error) {
	if err := validateVersion(v, opt); err != nil {
		return Version{}, err
	}
	what := fmt.Sprintf("create version %s of application %s/%s/%s", v.Name, v.Tenant, v.Project, v.Application)
	app, err := st.GetApplication(ctx, v.Tenant, v.Project, v.Application)
	if err != nil {
		return Version{}, fmt.Errorf("%s: %w", what, err)
	}
	if v.Tier != "" {
		tier, err := st.GetTier(ctx, v.Tier)
		if errors.Is(err, resource.ErrNotFound) {
			return Version{}, &resource.ValidationError{Fields: []resource.FieldError{{Path: "tier", Reason: fmt.Sprintf("unknown tier %q", v.Tier)}}}
		}
		if err != nil {
			return Version{}, fmt.Errorf("%s: tier %s: %w", what, v.Tier, err)
		}
		if v.Resources == nil {
			r := tier.Resources
			v.Resources = &r
		}
	}
	v.CreatedBy, v.CreatedAt = a.User, s.now()
	if err := st.CreateVersion(ctx, v); err != nil {
		return Version{}, fmt.Errorf("%s: %w", what, err)
	}
	what = fmt.Sprintf("image %s, tier %q", v.Image, v.Tier)
	if v.Digest != "" {
		what = fmt.Sprintf("image %s@%s, tier %q", v.Image, v.Digest, v.Tier)
	}
	if v.Chart != nil {
		what = fmt.Sprintf("%s, %d objects (%s)", v.Chart, len(v.Chart.Objects), v.Chart.Digest)
	}
	if err := s.record(ctx, st, a, audit.Event{Tenant: v.Tenant, Project: v.Project, Action: "version.create",
		Target:  appPath(v.Tenant, v.Project, v.Application) + "/versions/" + v.Name,
		Summary: fmt.Sprintf("created version %s of %s: %s", v.Name, v.Application, what)}); err != nil {
		return Version{}, err
	}
	if opt.Activate {
		if _, err := s.activate(ctx, st, a, app, v); err != nil {
			return Version{}, err
		}
	}
	return v, nil
}

// GetVersion returns the named version.
func (s *Service) GetVersion(ctx context.Context, st Store, tenant, project, app, name string) (Version, error) {
	v, err := st.GetVersion(ctx, tenant, project, app, name)
	return v, wrap("get version "+tenant+"/"+project+"/"+app+"/"+name, err)
}

// ListVersions returns a page of an application's versions by name.
func (s *Service) ListVersions(ctx context.Context, st Store, tenant, project, app string, o resource.ListOptions) (resource.Page[Version], error) {
	return page(o, func(v Version) string { return v.Name }, func(after string, limit int) ([]Version, error) {
		return st.ListVersions(ctx, tenant, project, app, after, limit)
	})
}

// reservedLabels are the label keys (and prefixes) Berth sets on replicas.
var reservedLabels = []string{"app.kubernetes.io/", "berth.dev/tenant", "berth.dev/project", "berth.dev/environment", "berth.dev/app"}

func validatePodLabels(errs *resource.Errors, path string, labels map[string]string) {
	if len(labels) > 32 {
		errs.Add(path, "at most 32 labels, got %d", len(labels))
	}
	for k, v := range labels {
		kp := path + "." + k
		for _, r := range reservedLabels {
			if strings.HasPrefix(k, r) {
				errs.Add(kp, "Berth sets %s itself", k)
			}
		}
		if !labelKey.MatchString(k) || len(k) > 253 {
			errs.Add(kp, "not a valid label key")
		}
		if !labelValue.MatchString(v) {
			errs.Add(kp, "not a valid label value: up to 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric")
		}
	}
}

var (
	labelKey   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelValue = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
)

// validateConfigRefs checks each reference: a ConfigMap by name, or an
// item mounted as a file at an absolute path, each file once, and one file
// name per item (the key of its content in the version's "-files"
// ConfigMap or Secret); a directory holds either one ConfigMap or items'
// files.
func validateConfigRefs(errs *resource.Errors, path string, refs []ConfigRef) {
	dirs := map[string]string{} // mount path → "item" or the ConfigMap
	files := map[string]bool{}
	names := map[string]string{} // file name → the item it holds: the key in the "-files" ConfigMap or Secret
	for i, c := range refs {
		cp := fmt.Sprintf("%s.configRefs[%d]", path, i)
		if !c.IsItem() {
			errs.CheckName(cp+".name", c.Name)
			if c.Group != "" || c.File != "" || c.OnChange != "" {
				errs.Add(cp+".dataId", "must name the item that group, file or onChange are about")
			}
			if c.MountPath != "" {
				checkMountDir(errs, cp+".mountPath", c.MountPath, "ConfigMap "+c.Name, dirs)
			}
			continue
		}
		if c.Name != "" {
			errs.Add(cp+".name", "set name (a ConfigMap) or dataId (a config item), not both")
		}
		configcenter.CheckName(errs, cp+".dataId", c.DataID)
		if c.Group != "" {
			configcenter.CheckName(errs, cp+".group", c.Group)
		}
		if c.OnChange != "" && c.OnChange != Reload && c.OnChange != Restart {
			errs.Add(cp+".onChange", "must be reload or restart, got %q", c.OnChange)
		}
		if c.File != "" && !configMapKey.MatchString(c.File) {
			errs.Add(cp+".file", "may contain only letters, digits and '_', '-', '.', got %q", c.File)
		} else if !configMapKey.MatchString(c.FileName()) {
			errs.Add(cp+".file", "must be set: the data ID %q is not a file name (letters, digits and '_', '-', '.')", c.DataID)
		}
		if c.MountPath == "" {
			errs.Add(cp+".mountPath", "must be set: the directory the file is mounted in")
			continue
		}
		checkMountDir(errs, cp+".mountPath", c.MountPath, items, dirs)
		item := c.ItemGroup() + "/" + c.DataID
		if f := strings.TrimRight(c.MountPath, "/") + "/" + c.FileName(); files[f] {
			errs.Add(cp+".file", "%s is mounted twice", f)
		} else if other, ok := names[c.FileName()]; ok && other != item {
			errs.Add(cp+".file", "%s is already the file name of item %s: a version's files are named uniquely", c.FileName(), other)
		} else {
			files[f], names[c.FileName()] = true, item
		}
	}
}

const items = "config items"

var configMapKey = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)

func checkMountDir(errs *resource.Errors, path, dir, what string, dirs map[string]string) {
	if !strings.HasPrefix(dir, "/") || strings.Contains(dir, "..") || strings.ContainsAny(dir, ":\x00") {
		errs.Add(path, "must be an absolute directory without '..' or ':', got %q", dir)
		return
	}
	dir = strings.TrimRight(dir, "/")
	if prev, ok := dirs[dir]; ok && (prev != items || what != items) {
		errs.Add(path, "%s is already taken by %s", dir, prev)
		return
	}
	dirs[dir] = what
}
