package kube

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// EndpointWatcher follows the EndpointSlices of a cluster (all namespaces)
// and answers, from memory, which addresses are ready behind a Service
// port. It is the Berth gateway's Resolver for `service:` upstreams.
type EndpointWatcher struct {
	log      *slog.Logger
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer

	mu    sync.RWMutex
	cache map[string][]string // namespace/name/port -> addresses; cleared on every change
}

const byService = "service"

// NewEndpointWatcher returns a watcher using client; call Start before use.
func NewEndpointWatcher(client kubernetes.Interface, log *slog.Logger) *EndpointWatcher {
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	inf := factory.Discovery().V1().EndpointSlices().Informer()
	w := &EndpointWatcher{log: log, factory: factory, informer: inf, cache: map[string][]string{}}
	_ = inf.AddIndexers(cache.Indexers{byService: func(obj any) ([]string, error) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return nil, nil
		}
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			return nil, nil
		}
		return []string{s.Namespace + "/" + svc}, nil
	}})
	invalidate := func(any) { w.mu.Lock(); w.cache = map[string][]string{}; w.mu.Unlock() }
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: invalidate, DeleteFunc: invalidate, UpdateFunc: func(_, n any) { invalidate(n) },
	})
	return w
}

// NewEndpointWatcherForKubeconfig builds the client from a kubeconfig file,
// or from the pod's service account when path is "".
func NewEndpointWatcherForKubeconfig(path string, log *slog.Logger) (*EndpointWatcher, error) {
	var cfg *rest.Config
	var err error
	if path == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", path)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return NewEndpointWatcher(client, log), nil
}

// Start runs the watch until ctx is done and waits for the first full list.
func (w *EndpointWatcher) Start(ctx context.Context) error {
	w.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), w.informer.HasSynced) {
		return fmt.Errorf("endpointslices: cache not synced: %w", ctx.Err())
	}
	w.log.Info("watching endpointslices")
	return nil
}

// Endpoints returns the ready addresses (host:port, sorted) of Service
// namespace/name for port, which is the EndpointSlice port's name (the
// Service port's name) or its number (the target port). Terminating and
// not-ready endpoints are left out. The caller must not modify the slice.
func (w *EndpointWatcher) Endpoints(namespace, name, port string) []string {
	key := namespace + "/" + name + "/" + port
	w.mu.RLock()
	addrs, ok := w.cache[key]
	w.mu.RUnlock()
	if ok {
		return addrs
	}
	addrs = w.compute(namespace, name, port)
	w.mu.Lock()
	w.cache[key] = addrs
	w.mu.Unlock()
	return addrs
}

func (w *EndpointWatcher) compute(namespace, name, port string) []string {
	objs, err := w.informer.GetIndexer().ByIndex(byService, namespace+"/"+name)
	if err != nil {
		return nil
	}
	var out []string
	for _, o := range objs {
		s, ok := o.(*discoveryv1.EndpointSlice)
		if !ok || s.AddressType == discoveryv1.AddressTypeFQDN {
			continue
		}
		p, ok := slicePort(s, port)
		if !ok {
			continue
		}
		for _, ep := range s.Endpoints {
			if !ready(ep) || len(ep.Addresses) == 0 {
				continue
			}
			out = append(out, net.JoinHostPort(ep.Addresses[0], strconv.Itoa(int(p))))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func slicePort(s *discoveryv1.EndpointSlice, port string) (int32, bool) {
	for _, p := range s.Ports {
		if p.Port == nil {
			continue
		}
		if (p.Name != nil && *p.Name == port) || strconv.Itoa(int(*p.Port)) == port {
			return *p.Port, true
		}
	}
	return 0, false
}

func ready(ep discoveryv1.Endpoint) bool {
	c := ep.Conditions
	if c.Terminating != nil && *c.Terminating {
		return false
	}
	return c.Ready == nil || *c.Ready
}
