package apps

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/resource"
)

func valid() Version {
	return Version{Tenant: "acme", Project: "payments", Application: "red-auth", Name: "v1", Image: "reg.example.com/red-auth:1.0", Tier: "medium",
		Orchestration: Orchestration{Replicas: 2, Ports: []Port{{Name: "http", ContainerPort: 8080}}}}
}

func TestValidateVersion(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Version)
		opt  VersionOptions
		want []resource.FieldError
	}{
		{"a complete version is valid", func(*Version) {}, VersionOptions{}, nil},
		{"a bad digest and zone spread are named", func(v *Version) {
			v.Digest = "md5:abc"
			v.Orchestration.ZoneSpread = "sometimes"
		}, VersionOptions{}, []resource.FieldError{
			{Path: "digest", Reason: "must be sha256:<64 lowercase hex digits>"},
			{Path: "orchestration.zoneSpread", Reason: `must be required, preferred or empty, got "sometimes"`}}},
		{"autoscaling needs max at least min and a target", func(v *Version) {
			v.Orchestration.Autoscaling = &Autoscaling{MinReplicas: 3, MaxReplicas: 2}
		}, VersionOptions{}, []resource.FieldError{
			{Path: "orchestration.autoscaling.maxReplicas", Reason: "must not be below minReplicas 3, got 2"},
			{Path: "orchestration.autoscaling", Reason: "needs targetCPUPercent or targetMemoryPercent"}}},
		{"an HTTP probe needs a port", func(v *Version) {
			v.Orchestration.Probes.Readiness = &Probe{HTTPPath: "/healthz"}
		}, VersionOptions{}, []resource.FieldError{{Path: "orchestration.probes.readiness.port", Reason: "must be set for an HTTP probe"}}},
		{"raw limits below requests are refused for platform admins too", func(v *Version) {
			v.Tier = ""
			v.Resources = &Resources{Requests: resource.List{resource.CPU: 2000}, Limits: resource.List{resource.CPU: 1000}}
		}, VersionOptions{AllowRawResources: true}, []resource.FieldError{{Path: "resources.limits.cpu", Reason: "must not be below the request 2, got 1"}}},
		{"config items mount as files: each mount needs a directory, a file name, a known onChange", func(v *Version) {
			v.Orchestration.ConfigRefs = []ConfigRef{
				{DataID: "app.yaml", MountPath: "/etc/app"},
				{DataID: "db.properties", Group: "PAY", MountPath: "/etc/app/", File: "db.conf", OnChange: Restart},
				{DataID: "limits.json"},
				{DataID: "a:b", MountPath: "/etc/x"},
				{DataID: "app.yaml", Group: "OTHER", MountPath: "/etc/app"},
				{DataID: "c.yaml", MountPath: "etc/../y", OnChange: "often"},
				{Name: "certs", MountPath: "/etc/app"},
				{Name: "certs", DataID: "d.yaml", MountPath: "/d"},
				{Name: "certs", OnChange: Reload},
				{DataID: "app.yaml", Group: "PAY", MountPath: "/etc/other"},
				{DataID: "app.yaml", MountPath: "/etc/copy"},
			}
		}, VersionOptions{}, []resource.FieldError{
			{Path: "orchestration.configRefs[2].mountPath", Reason: "must be set: the directory the file is mounted in"},
			{Path: "orchestration.configRefs[3].file", Reason: `must be set: the data ID "a:b" is not a file name (letters, digits and '_', '-', '.')`},
			{Path: "orchestration.configRefs[4].file", Reason: "/etc/app/app.yaml is mounted twice"},
			{Path: "orchestration.configRefs[5].onChange", Reason: `must be reload or restart, got "often"`},
			{Path: "orchestration.configRefs[5].mountPath", Reason: `must be an absolute directory without '..' or ':', got "etc/../y"`},
			{Path: "orchestration.configRefs[6].mountPath", Reason: "/etc/app is already taken by config items"},
			{Path: "orchestration.configRefs[7].name", Reason: "set name (a ConfigMap) or dataId (a config item), not both"},
			{Path: "orchestration.configRefs[8].dataId", Reason: "must name the item that group, file or onChange are about"},
			{Path: "orchestration.configRefs[9].file", Reason: "app.yaml is already the file name of item DEFAULT_GROUP/app.yaml: a version's files are named uniquely"},
		}},
		{"negative graceful shutdown is refused", func(v *Version) { v.Orchestration.GracefulShutdownSeconds = -5 }, VersionOptions{},
			[]resource.FieldError{{Path: "orchestration.gracefulShutdownSeconds", Reason: "must not be negative, got -5"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := valid()
			tc.edit(&v)
			err := validateVersion(v, tc.opt)
			var got []resource.FieldError
			var ve *resource.ValidationError
			if errors.As(err, &ve) {
				got = ve.Fields
			} else if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("fields (-want +got):\n%s", d)
			}
		})
	}
}

func TestReservation(t *testing.T) {
	v := valid()
	v.Resources = &Resources{Requests: resource.List{resource.CPU: 500, resource.Memory: 1 << 30 * 1000, resource.Storage: 10 << 30 * 1000}}
	v.Orchestration.Autoscaling = &Autoscaling{MinReplicas: 2, MaxReplicas: 4, TargetCPUPercent: 60}
	v.Orchestration.ConfigRefs = []ConfigRef{{Name: "a"}, {Name: "b"}}
	want := resource.List{resource.CPU: 2000, resource.Memory: 4 << 30 * 1000, resource.Storage: 40 << 30 * 1000,
		resource.Containers: 4000, resource.ConfigItems: 2000}
	if d := cmp.Diff(want, Reservation(v)); d != "" {
		t.Fatalf("reservation (-want +got):\n%s", d)
	}
}
