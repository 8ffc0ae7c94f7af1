package kube

// Config center items mounted as files (apps.ConfigRef with a DataID): the
// application's "-files" ConfigMap holds the plain items, its "-files"
// Secret the secret ones, and each mount directory is one projected volume
// drawing on both. The kubelet rewrites a mounted file in place when its
// object changes; items mounted with OnChange restart also stamp a hash of
// their content on the pod template, so a new revision rolls the pods.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"berth.dev/berth/internal/apps"
)

// File is what the pods of a workload read of one config item they mount:
// the controller fills Workload.Files with one per item reference.
type File struct {
	Group, DataID string
	Revision      int64
	Content       string
	Secret        bool
}

// Annotations on what carries mounted items.
const (
	// AnnotationFiles, on the pod template, is the hash of the items
	// mounted with OnChange restart: a new revision rolls the pods.
	AnnotationFiles = "berth.dev/config-files"
	// AnnotationRevisions, on the files ConfigMap and Secret, lists the
	// revision each file holds ("group/dataId=revision", comma-separated).
	AnnotationRevisions = "berth.dev/config-revisions"
)

// filesName is the name of the ConfigMap and the Secret holding the files.
func (w Workload) filesName() string { return w.App + "-files" }

// file finds the content the controller read for ref.
func (w Workload) file(ref apps.ConfigRef) (File, error) {
	for _, f := range w.Files {
		if f.Group == ref.ItemGroup() && f.DataID == ref.DataID {
			return f, nil
		}
	}
	return File{}, fmt.Errorf("config item %s/%s: not read for %s", ref.ItemGroup(), ref.DataID, w.App)
}

// mountedFiles is what renderFiles adds to a workload's pods.
type mountedFiles struct {
	objs     []runtime.Object
	volumes  []corev1.Volume
	mounts   []corev1.VolumeMount
	restarts string // hash of the items mounted with OnChange restart; "" for none
}

// renderFiles renders the items w's version mounts as files.
func (w Workload) renderFiles(labels map[string]string) (mountedFiles, error) {
	var out mountedFiles
	plain, secret := map[string]string{}, map[string]string{}
	var plainRevs, secretRevs []string
	restart := map[string]string{} // file → content, of the items mounted with OnChange restart
	dirs := map[string]*corev1.ProjectedVolumeSource{}
	var order []string
	for _, ref := range w.Version.Orchestration.ConfigRefs {
		if !ref.IsItem() {
			continue
		}
		f, err := w.file(ref)
		if err != nil {
			return out, err
		}
		name, rev := ref.FileName(), ref.ItemGroup()+"/"+ref.DataID+"="+strconv.FormatInt(f.Revision, 10)
		dir := strings.TrimRight(ref.MountPath, "/")
		src := dirs[dir]
		if src == nil {
			src = &corev1.ProjectedVolumeSource{}
			dirs[dir] = src
			order = append(order, dir)
		}
		item := corev1.KeyToPath{Key: name, Path: name}
		obj := corev1.LocalObjectReference{Name: w.filesName()}
		if f.Secret {
			secret[name], secretRevs = f.Content, append(secretRevs, rev)
			src.Sources = append(src.Sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{LocalObjectReference: obj, Items: []corev1.KeyToPath{item}}})
		} else {
			plain[name], plainRevs = f.Content, append(plainRevs, rev)
			src.Sources = append(src.Sources, corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: obj, Items: []corev1.KeyToPath{item}}})
		}
		if ref.OnChange == apps.Restart {
			restart[name] = f.Content
		}
	}
	meta := func(revs []string) metav1.ObjectMeta {
		m := w.objectMeta(w.filesName(), labels)
		sort.Strings(revs)
		m.Annotations = map[string]string{AnnotationRevisions: strings.Join(revs, ",")}
		return m
	}
	if len(plain) > 0 {
		out.objs = append(out.objs, &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: meta(plainRevs), Data: plain})
	}
	if len(secret) > 0 {
		data := map[string][]byte{}
		for k, v := range secret {
			data[k] = []byte(v)
		}
		out.objs = append(out.objs, &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: meta(secretRevs), Type: corev1.SecretTypeOpaque, Data: data})
	}
	for i, dir := range order {
		vol := "files-" + strconv.Itoa(i)
		out.volumes = append(out.volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Projected: dirs[dir]}})
		out.mounts = append(out.mounts, corev1.VolumeMount{Name: vol, MountPath: dir, ReadOnly: true})
	}
	if len(restart) > 0 {
		out.restarts = hash(restart)
	}
	return out, nil
}
