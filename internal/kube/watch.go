package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersappsv1 "k8s.io/client-go/listers/apps/v1"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// AppKey names an application's workload in a cluster.
type AppKey struct {
	Namespace string
	App       string
}

// Watcher keeps a live view of every Berth-managed Deployment, Service and
// pod of one cluster, and tells onChange which application changed. It is event
// driven: a pod entering CrashLoopBackOff is seen as soon as the API server
// sends the update.
type Watcher struct {
	factory  informers.SharedInformerFactory
	nodes    informers.SharedInformerFactory
	deploys  listersappsv1.DeploymentLister
	services listerscorev1.ServiceLister
	pods     listerscorev1.PodLister
	nodeList listerscorev1.NodeLister
	onChange func(AppKey)
}

// NewWatcher returns a Watcher of client's cluster; onChange may be nil and
// must not block.
func NewWatcher(client kubernetes.Interface, onChange func(AppKey)) (*Watcher, error) {
	managed := informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = LabelManagedBy + "=" + ManagedBy
	})
	f := informers.NewSharedInformerFactoryWithOptions(client, 10*time.Minute, managed)
	nf := informers.NewSharedInformerFactory(client, 10*time.Minute)
	w := &Watcher{
		factory:  f,
		nodes:    nf,
		deploys:  f.Apps().V1().Deployments().Lister(),
		services: f.Core().V1().Services().Lister(),
		pods:     f.Core().V1().Pods().Lister(),
		nodeList: nf.Core().V1().Nodes().Lister(),
		onChange: onChange,
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    w.notify,
		UpdateFunc: func(_, obj any) { w.notify(obj) },
		DeleteFunc: w.notify,
	}
	for _, inf := range []cache.SharedIndexInformer{f.Apps().V1().Deployments().Informer(), f.Core().V1().Pods().Informer(),
		f.Core().V1().Services().Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
	}
	return w, nil
}

func (w *Watcher) notify(obj any) {
	if w.onChange == nil {
		return
	}
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	var ns string
	var l map[string]string
	switch o := obj.(type) {
	case *appsv1.Deployment:
		ns, l = o.Namespace, o.Labels
	case *corev1.Pod:
		ns, l = o.Namespace, o.Labels
	case *corev1.Service:
		ns, l = o.Namespace, o.Labels
	default:
		return
	}
	if app := l[LabelApp]; app != "" {
		w.onChange(AppKey{Namespace: ns, App: app})
	}
}

// Start runs the informers until ctx ends and waits for their first full
// list, up to timeout.
func (w *Watcher) Start(ctx context.Context, timeout time.Duration) error {
	w.factory.Start(ctx.Done())
	w.nodes.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, f := range []informers.SharedInformerFactory{w.factory, w.nodes} {
		for typ, ok := range f.WaitForCacheSync(syncCtx.Done()) {
			if !ok {
				return fmt.Errorf("watch %v: %w", typ, errors.New("cache did not sync"))
			}
		}
	}
	return nil
}

// Stop waits for the informers to end after their context is cancelled.
func (w *Watcher) Stop() {
	w.factory.Shutdown()
	w.nodes.Shutdown()
}

// Status assesses the application key from the watched state.
func (w *Watcher) Status(key AppKey) Status {
	d, err := w.deploys.Deployments(key.Namespace).Get(key.App)
	if err != nil {
		d = nil
	}
	pods, _ := w.Pods(key)
	return Assess(d, pods, w.zoneOf)
}

// Deployment returns the watched Deployment of key, or nil.
func (w *Watcher) Deployment(key AppKey) *appsv1.Deployment {
	d, err := w.deploys.Deployments(key.Namespace).Get(key.App)
	if err != nil {
		return nil
	}
	return d
}

// Object returns the watched object ref names (read only: the cache's),
// or nil when it does not exist; watched is false for kinds the Watcher does
// not watch (only Deployments and Services, labelled as Berth's, are).
func (w *Watcher) Object(ref ObjectRef) (obj metav1.Object, watched bool) {
	var err error
	switch {
	case ref.Group == "apps" && ref.Kind == "Deployment":
		obj, err = w.deploys.Deployments(ref.Namespace).Get(ref.Name)
	case ref.Group == "" && ref.Kind == "Service":
		obj, err = w.services.Services(ref.Namespace).Get(ref.Name)
	default:
		return nil, false
	}
	if err != nil {
		return nil, true
	}
	return obj, true
}

// Pods returns the watched pods of key. They are the cache's: read only.
func (w *Watcher) Pods(key AppKey) ([]*corev1.Pod, error) {
	sel := labels.SelectorFromSet(labels.Set{LabelApp: key.App})
	return w.pods.Pods(key.Namespace).List(sel)
}

func (w *Watcher) zoneOf(node string) string {
	n, err := w.nodeList.Get(node)
	if err != nil {
		return ""
	}
	return n.Labels[ZoneLabel]
}
