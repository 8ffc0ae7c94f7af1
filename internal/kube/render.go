package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/resource"
)

// ZoneLabel is the node label replicas are spread across.
const ZoneLabel = "topology.kubernetes.io/zone"

// Workload is what to run: one application at one version in one
// environment's namespace, with the operator's overrides.
type Workload struct {
	Tenant      string
	Project     string
	Environment string
	Namespace   string
	App         string
	Version     apps.Version
	// Replicas overrides the version's replica count (scale, stop); nil
	// keeps the version's. Zero stops the application, autoscaling too.
	Replicas *int32
	// RestartedAt, when set, is stamped on the pod template so every pod is
	// replaced (a rolling restart).
	RestartedAt string
	// ProgressDeadlineSeconds bounds a rollout (default 600).
	ProgressDeadlineSeconds int32
	// NodePorts are the node ports allocated to the version's ports, by
	// port name; with any, a NodePort Service exposes them (render_net.go).
	NodePorts map[string]int32
	// Files are the config items the version mounts (render_files.go), as
	// its pods are served them.
	Files []File
}

// Render returns the objects that run w: Deployment, Service (when the
// version has ports), ConfigMap of its environment, HorizontalPodAutoscaler
// (when it autoscales and is not stopped) and PodDisruptionBudget (when it
// has two or more replicas). Render keeps nothing of w.
func Render(w Workload) ([]*unstructured.Unstructured, error) {
	o := w.Version.Orchestration
	labels := w.labels()
	selector := map[string]string{LabelApp: w.App}

	env, envData := renderEnv(o.Env)
	env = w.connLabels(env, envData)
	var objs []runtime.Object
	configName := w.App + "-env"
	if len(envData) > 0 {
		objs = append(objs, &corev1.ConfigMap{
			TypeMeta:   typeMeta("v1", "ConfigMap"),
			ObjectMeta: w.objectMeta(configName, labels),
			Data:       envData,
		})
	}

	podLabels := copyMap(o.PodLabels)
	for k, v := range labels {
		podLabels[k] = v
	}
	podLabels[LabelVersion] = w.Version.Name
	annotations := map[string]string{AnnotationConfigHash: hash(envData)}
	if w.RestartedAt != "" {
		annotations[AnnotationRestartedAt] = w.RestartedAt
	}
	bandwidthAnnotations(o.Bandwidth, annotations)
	files, err := w.renderFiles(labels)
	if err != nil {
		return nil, err
	}
	objs = append(objs, files.objs...)
	if files.restarts != "" {
		annotations[AnnotationFiles] = files.restarts
	}
	container, err := w.container(env, configName, len(envData) > 0)
	if err != nil {
		return nil, err
	}
	container.VolumeMounts = append(container.VolumeMounts, files.mounts...)
	pod := corev1.PodSpec{
		Containers:                    []corev1.Container{container},
		TerminationGracePeriodSeconds: gracePeriod(o.GracefulShutdownSeconds),
		Affinity:                      zoneAffinity(o.ZoneSpread, selector),
		Volumes:                       append(configVolumes(o.ConfigRefs), files.volumes...),
	}
	replicas := o.Replicas
	if w.Replicas != nil {
		replicas = *w.Replicas
	}
	autoscale := o.Autoscaling != nil && replicas > 0
	deadline := w.ProgressDeadlineSeconds
	if deadline == 0 {
		deadline = 600
	}
	deploy := &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: w.objectMeta(w.App, labels),
		Spec: appsv1.DeploymentSpec{
			Selector:                &metav1.LabelSelector{MatchLabels: selector},
			ProgressDeadlineSeconds: ptr.To(deadline),
			RevisionHistoryLimit:    ptr.To[int32](10),
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				// Never drop below the desired capacity during a rollout.
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)),
					MaxSurge:       ptr.To(intstr.FromString("25%")),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: annotations},
				Spec:       pod,
			},
		},
	}
	if !autoscale {
		// With an autoscaler the replica count is its to set, not ours.
		deploy.Spec.Replicas = ptr.To(replicas)
	}
	objs = append(objs, deploy)

	if len(o.Ports) > 0 {
		objs = append(objs, w.service(labels, selector))
	}
	if svc := w.nodePortService(labels, selector); svc != nil {
		objs = append(objs, svc)
	}
	if autoscale {
		objs = append(objs, w.autoscaler(labels))
	}
	if replicas >= 2 || (autoscale && o.Autoscaling.MinReplicas >= 2) {
		objs = append(objs, &policyv1.PodDisruptionBudget{
			TypeMeta:   typeMeta("policy/v1", "PodDisruptionBudget"),
			ObjectMeta: w.objectMeta(w.App, labels),
			Spec: policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable: ptr.To(intstr.FromInt32(1)),
				Selector:       &metav1.LabelSelector{MatchLabels: selector},
			},
		})
	}
	return toUnstructured(objs)
}

func (w Workload) labels() map[string]string {
	return map[string]string{
		LabelManagedBy:   ManagedBy,
		LabelName:        w.App,
		LabelTenant:      w.Tenant,
		LabelProject:     w.Project,
		LabelEnvironment: w.Environment,
		LabelApp:         w.App,
	}
}

func (w Workload) objectMeta(name string, labels map[string]string) metav1.ObjectMeta {
	return metaOf(name, w.Namespace, labels)
}

func metaOf(name, namespace string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: copyMap(labels)}
}

func (w Workload) container(env []corev1.EnvVar, configName string, hasConfig bool) (corev1.Container, error) {
	v := w.Version
	o := v.Orchestration
	image := v.Image
	if v.Digest != "" {
		image = imageWithDigest(v.Image, v.Digest)
	}
	c := corev1.Container{
		Name:            "app",
		Image:           image,
		Env:             env,
		ImagePullPolicy: corev1.PullIfNotPresent,
	}
	if hasConfig {
		c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: configName}}}}
	}
	for _, p := range o.Ports {
		proto := corev1.ProtocolTCP
		if p.Protocol == "UDP" {
			proto = corev1.ProtocolUDP
		}
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: p.Name, ContainerPort: p.ContainerPort, Protocol: proto})
	}
	for _, ref := range o.ConfigRefs {
		if ref.MountPath != "" && !ref.IsItem() {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "config-" + ref.Name, MountPath: ref.MountPath, ReadOnly: true})
		}
	}
	res, err := resources(v.Resources)
	if err != nil {
		return c, err
	}
	c.Resources = res
	c.StartupProbe = probe(o.Probes.Startup)
	c.ReadinessProbe = probe(o.Probes.Readiness)
	c.LivenessProbe = probe(o.Probes.Liveness)
	if len(o.PreStop) > 0 {
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: o.PreStop}}}
	}
	return c, nil
}

func (w Workload) service(labels, selector map[string]string) *corev1.Service {
	svc := &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: w.objectMeta(w.App, labels),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: selector},
	}
	for _, p := range w.Version.Orchestration.Ports {
		proto := corev1.ProtocolTCP
		if p.Protocol == "UDP" {
			proto = corev1.ProtocolUDP
		}
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{
			Name: p.Name, Port: p.ContainerPort, Protocol: proto, TargetPort: intstr.FromString(p.Name),
		})
	}
	return svc
}

func (w Workload) autoscaler(labels map[string]string) *autoscalingv2.HorizontalPodAutoscaler {
	a := w.Version.Orchestration.Autoscaling
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   typeMeta("autoscaling/v2", "HorizontalPodAutoscaler"),
		ObjectMeta: w.objectMeta(w.App, labels),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: w.App},
			MinReplicas:    ptr.To(a.MinReplicas),
			MaxReplicas:    a.MaxReplicas,
		},
	}
	for _, t := range []struct {
		name   corev1.ResourceName
		target int32
	}{{corev1.ResourceCPU, a.TargetCPUPercent}, {corev1.ResourceMemory, a.TargetMemoryPercent}} {
		if t.target > 0 {
			hpa.Spec.Metrics = append(hpa.Spec.Metrics, autoscalingv2.MetricSpec{
				Type: autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: t.name, Target: autoscalingv2.MetricTarget{
					Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(t.target)}},
			})
		}
	}
	return hpa
}

// zoneAffinity renders the zone spread mode: "required" never puts two
// replicas in one zone (a replica stays Pending rather than break the rule);
// "preferred" spreads when it can.
func zoneAffinity(mode apps.ZoneSpread, selector map[string]string) *corev1.Affinity {
	term := corev1.PodAffinityTerm{TopologyKey: ZoneLabel, LabelSelector: &metav1.LabelSelector{MatchLabels: copyMap(selector)}}
	switch mode {
	case apps.SpreadRequired:
		return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{term}}}
	case apps.SpreadPreferred:
		return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100, PodAffinityTerm: term}}}}
	}
	return nil
}

func probe(p *apps.Probe) *corev1.Probe {
	if p == nil {
		return nil
	}
	out := &corev1.Probe{
		InitialDelaySeconds: p.InitialDelaySeconds,
		PeriodSeconds:       p.PeriodSeconds,
		TimeoutSeconds:      p.TimeoutSeconds,
		FailureThreshold:    p.FailureThreshold,
	}
	switch {
	case len(p.Command) > 0:
		out.Exec = &corev1.ExecAction{Command: p.Command}
	case p.HTTPPath != "":
		out.HTTPGet = &corev1.HTTPGetAction{Path: p.HTTPPath, Port: intstr.FromInt32(p.Port)}
	default:
		out.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(p.Port)}
	}
	return out
}

func resources(r *apps.Resources) (corev1.ResourceRequirements, error) {
	var out corev1.ResourceRequirements
	if r == nil {
		return out, nil
	}
	var err error
	if out.Requests, err = resourceList(r.Requests); err != nil {
		return out, fmt.Errorf("requests: %w", err)
	}
	if out.Limits, err = resourceList(r.Limits); err != nil {
		return out, fmt.Errorf("limits: %w", err)
	}
	return out, nil
}

// resourceList converts the container resources Kubernetes knows (cpu,
// memory, ephemeral storage) from Berth's notation.
func resourceList(l resource.List) (corev1.ResourceList, error) {
	if len(l) == 0 {
		return nil, nil
	}
	out := corev1.ResourceList{}
	for name, q := range l {
		var k corev1.ResourceName
		switch name {
		case resource.CPU:
			k = corev1.ResourceCPU
		case resource.Memory:
			k = corev1.ResourceMemory
		case resource.Storage:
			k = corev1.ResourceEphemeralStorage
		default:
			continue
		}
		v, err := k8sresource.ParseQuantity(q.String())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[k] = v
	}
	return out, nil
}

func renderEnv(vars []apps.EnvVar) ([]corev1.EnvVar, map[string]string) {
	var env []corev1.EnvVar
	data := map[string]string{}
	for _, v := range vars {
		if v.ConfigRef != "" {
			env = append(env, corev1.EnvVar{Name: v.Name, ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: v.ConfigRef}, Key: v.Name, Optional: ptr.To(true)}}})
			continue
		}
		data[v.Name] = v.Value
	}
	return env, data
}

// connLabels adds the Nacos connection labels naming w's application and
// version (configcenter.ConnLabelsEnv), so a configuration can be grayed
// to the pods of a version. Labels the operator set in that variable come
// first and are kept; one taken from a ConfigMap is left alone.
func (w Workload) connLabels(env []corev1.EnvVar, data map[string]string) []corev1.EnvVar {
	for _, e := range env {
		if e.Name == configcenter.ConnLabelsEnv {
			return env
		}
	}
	var parts []string
	if v := strings.Trim(data[configcenter.ConnLabelsEnv], " ,"); v != "" {
		parts = append(parts, v)
	}
	parts = append(parts, "berth.app="+w.App, "berth.version="+w.Version.Name)
	return append(env, corev1.EnvVar{Name: configcenter.ConnLabelsEnv, Value: strings.Join(parts, ",")})
}

func configVolumes(refs []apps.ConfigRef) []corev1.Volume {
	var out []corev1.Volume
	for _, ref := range refs {
		if ref.MountPath == "" || ref.IsItem() {
			continue
		}
		out = append(out, corev1.Volume{Name: "config-" + ref.Name, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Optional: ptr.To(true)}}})
	}
	return out
}

func gracePeriod(seconds int32) *int64 {
	if seconds <= 0 {
		return nil
	}
	return ptr.To(int64(seconds))
}

// imageWithDigest pins image to digest: "repo:tag" becomes "repo:tag@sha256:…".
func imageWithDigest(image, digest string) string {
	return image + "@" + digest
}

func hash(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", strconv.Quote(k), strconv.Quote(m[k]))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// toUnstructured converts typed objects for server-side apply, dropping the
// zero-valued fields (status, creationTimestamp) a typed object always has,
// so Berth never claims ownership of fields it does not set.
func toUnstructured(objs []runtime.Object) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(objs))
	for _, o := range objs {
		data, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		unstructured.RemoveNestedField(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
		out = append(out, u)
	}
	return out, nil
}
