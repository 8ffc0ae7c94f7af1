package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/platform"
)

// Config center items mounted as files by an application without a Nacos
// client: the driver renders them into the application's "-files"
// ConfigMap (plain items) and Secret (secret ones); a new revision of an
// item mounted with onChange reload rewrites the object and leaves the
// pods alone, one mounted with restart also rolls the pods; the pods of a
// version in an item's gray cohort read the gray revision; a missing item
// is shown in the status until it is created.
func TestMountedConfigItemsFollowTheirRevisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, t.TempDir())
	e.fixture(t)
	k := e.key
	item := func(dataID string) configcenter.Key {
		return configcenter.Key{Tenant: k.Tenant, Project: k.Project, Environment: k.Environment, Group: configcenter.DefaultGroup, DataID: dataID}
	}
	publish := func(dataID, content string, secret bool, cohort *configcenter.Cohort) {
		t.Helper()
		e.do(t, func(ctx context.Context, tx platform.Tx) error {
			_, err := e.p.Config.Publish(ctx, tx, alice, configcenter.Change{Key: item(dataID), Type: configcenter.Text, Secret: secret,
				Content: content, Comment: "test", Cohort: cohort}, 0)
			return err
		})
	}
	publish("app.yaml", "pool: 10\n", false, nil)
	publish("db.properties", "password=first\n", true, nil)
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Apps.CreateVersion(ctx, tx, alice, apps.Version{Tenant: k.Tenant, Project: k.Project, Application: k.Application,
			Name: "v3", Image: "registry.example.com/bank/red-auth:v3", Tier: "small",
			Orchestration: apps.Orchestration{Replicas: 1, ConfigRefs: []apps.ConfigRef{
				{DataID: "app.yaml", MountPath: "/etc/red-auth"},
				{DataID: "db.properties", MountPath: "/etc/red-auth", File: "db.conf", OnChange: apps.Restart},
			}}}, apps.VersionOptions{})
		if err != nil {
			return err
		}
		_, err = e.p.Deploy.Deploy(ctx, tx, alice, k, "v3")
		return err
	})

	cms := e.c.Client.CoreV1().ConfigMaps(e.ns)
	secrets := e.c.Client.CoreV1().Secrets(e.ns)
	eventually := func(what string, ok func() (bool, string)) {
		t.Helper()
		var last string
		err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			var done bool
			done, last = ok()
			return done, nil
		})
		if err != nil {
			t.Fatalf("%s never happened; last seen: %s", what, last)
		}
	}
	fileIs := func(want string) func() (bool, string) {
		return func() (bool, string) {
			cm, err := cms.Get(t.Context(), "red-auth-files", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return cm.Data["app.yaml"] == want, cm.Data["app.yaml"] + " " + cm.Annotations["berth.dev/config-revisions"]
		}
	}
	secretIs := func(want string) func() (bool, string) {
		return func() (bool, string) {
			s, err := secrets.Get(t.Context(), "red-auth-files", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return string(s.Data["db.conf"]) == want, string(s.Data["db.conf"])
		}
	}
	eventually("the plain item in the ConfigMap", fileIs("pool: 10\n"))
	eventually("the secret item in the Secret", secretIs("password=first\n"))
	cm, err := cms.Get(t.Context(), "red-auth-files", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cm.Annotations["berth.dev/config-revisions"]; got != "DEFAULT_GROUP/app.yaml=1" {
		t.Errorf("the ConfigMap says it holds %q, want DEFAULT_GROUP/app.yaml=1", got)
	}
	if _, ok := cm.Data["db.conf"]; ok {
		t.Error("the secret item is in the ConfigMap")
	}

	dep := func() *appsv1.Deployment {
		t.Helper()
		d, err := e.c.Client.AppsV1().Deployments(e.ns).Get(t.Context(), "red-auth", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := dep()
	checkMount(t, d)
	restartHash := d.Spec.Template.Annotations["berth.dev/config-files"]
	if restartHash == "" {
		t.Fatal("the pod template carries no hash of the items mounted with onChange restart")
	}
	gen := d.Generation

	// A reload item: the file changes, the pods stay.
	publish("app.yaml", "pool: 20\n", false, nil)
	eventually("the new revision in the ConfigMap", fileIs("pool: 20\n"))
	if d := dep(); d.Generation != gen || d.Spec.Template.Annotations["berth.dev/config-files"] != restartHash {
		t.Errorf("a reload item's change rolled the pods: generation %d → %d", gen, d.Generation)
	}

	// A restart item: the file changes and the pods roll.
	publish("db.properties", "password=second\n", true, nil)
	eventually("the new secret revision", secretIs("password=second\n"))
	eventually("the pods rolling", func() (bool, string) {
		d := dep()
		return d.Generation > gen && d.Spec.Template.Annotations["berth.dev/config-files"] != restartHash, d.Spec.Template.Annotations["berth.dev/config-files"]
	})

	// Gray to another version: v3's pods keep the current revision; to v3:
	// they read the gray one.
	publish("app.yaml", "pool: 30\n", false, &configcenter.Cohort{Versions: []configcenter.AppVersion{{App: "red-auth", Version: "v9"}}})
	publish("app.yaml", "pool: 40\n", false, &configcenter.Cohort{Versions: []configcenter.AppVersion{{App: "red-auth", Version: "v3"}}})
	eventually("v3's pods reading the gray revision", fileIs("pool: 40\n"))

	// A version mounting an item that does not exist: the status says so,
	// and the item's creation brings the version up.
	e.do(t, func(ctx context.Context, tx platform.Tx) error {
		_, err := e.p.Apps.CreateVersion(ctx, tx, alice, apps.Version{Tenant: k.Tenant, Project: k.Project, Application: k.Application,
			Name: "v4", Image: "registry.example.com/bank/red-auth:v4", Tier: "small",
			Orchestration: apps.Orchestration{Replicas: 1, ConfigRefs: []apps.ConfigRef{{DataID: "limits.json", MountPath: "/etc/limits"}}}},
			apps.VersionOptions{})
		if err != nil {
			return err
		}
		_, err = e.p.Deploy.Deploy(ctx, tx, alice, k, "v4")
		return err
	})
	eventually("the missing item in the deployment's status", func() (bool, string) {
		d := e.deployment(t)
		return strings.Contains(d.Applied.Error, "configRefs[0]: config item DEFAULT_GROUP/limits.json does not exist"), d.Applied.Error
	})
	publish("limits.json", `{"max": 5}`, false, nil)
	eventually("v4 applied once its item exists", func() (bool, string) {
		cm, err := cms.Get(t.Context(), "red-auth-files", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		_, old := cm.Data["app.yaml"]
		return cm.Data["limits.json"] == `{"max": 5}` && !old, strings.Join(keys(cm.Data), ",")
	})
	eventually("the Secret pruned: v4 mounts no secret", func() (bool, string) {
		_, err := secrets.Get(t.Context(), "red-auth-files", metav1.GetOptions{})
		return err != nil && strings.Contains(err.Error(), "not found"), "still there"
	})
}

// checkMount checks that d's pods see both files in /etc/red-auth through
// one projected volume.
func checkMount(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	var vol *corev1.Volume
	for i := range pod.Volumes {
		if pod.Volumes[i].Projected != nil {
			vol = &pod.Volumes[i]
		}
	}
	if vol == nil || len(vol.Projected.Sources) != 2 {
		t.Fatalf("no projected volume of two sources: %+v", pod.Volumes)
	}
	cmSrc, secSrc := vol.Projected.Sources[0].ConfigMap, vol.Projected.Sources[1].Secret
	if cmSrc == nil || cmSrc.Name != "red-auth-files" || cmSrc.Items[0].Path != "app.yaml" {
		t.Errorf("first source %+v, want the ConfigMap red-auth-files' app.yaml", vol.Projected.Sources[0])
	}
	if secSrc == nil || secSrc.Name != "red-auth-files" || secSrc.Items[0].Path != "db.conf" {
		t.Errorf("second source %+v, want the Secret red-auth-files' db.conf", vol.Projected.Sources[1])
	}
	mounts := pod.Containers[0].VolumeMounts
	if len(mounts) != 1 || mounts[0].Name != vol.Name || mounts[0].MountPath != "/etc/red-auth" || !mounts[0].ReadOnly {
		t.Errorf("mounts %+v, want %s read-only at /etc/red-auth", mounts, vol.Name)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
