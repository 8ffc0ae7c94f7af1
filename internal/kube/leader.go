package kube

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"berth.dev/berth/internal/leader"
)

// LeaseOptions configure the election of Berth's leader through a
// Kubernetes Lease (coordination.k8s.io), for replicas that run in a
// cluster.
type LeaseOptions struct {
	// Kubeconfig is the file of the cluster holding the Lease; empty: the
	// cluster the server runs in (its service account).
	Kubeconfig string
	// Namespace and Name name the Lease.
	Namespace, Name string
	// Identity names this replica in the Lease, the same after a restart.
	Identity string
	// TTL is the Lease's duration; renewals give up after 2/3 of it and
	// are retried every 1/5.
	TTL time.Duration
	// Fence starts the term's epoch in the database once the Lease is
	// won, so that the transactions of a leader the Lease no longer names
	// are refused (leader.Store.CheckLease).
	Fence func(ctx context.Context) (leader.Term, error)
	Log   *slog.Logger
}

// LeaseElector is a leader.Elector over client-go's leaderelection.
type LeaseElector struct {
	o      LeaseOptions
	client kubernetes.Interface
}

var _ leader.Elector = (*LeaseElector)(nil)

// NewLeaseElector returns the elector of o, with a client of o.Kubeconfig.
func NewLeaseElector(o LeaseOptions) (*LeaseElector, error) {
	var (
		cfg *rest.Config
		err error
	)
	if o.Kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config for the leader lease: %w", err)
	}
	return NewLeaseElectorForConfig(cfg, o)
}

// NewLeaseElectorForConfig returns the elector of o, with a client of cfg
// (o.Kubeconfig is not read).
func NewLeaseElectorForConfig(cfg *rest.Config, o LeaseOptions) (*LeaseElector, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for the leader lease: %w", err)
	}
	return &LeaseElector{o: o, client: client}, nil
}

// Run implements leader.Elector. The Lease is released when ctx ends, so
// another replica takes over at once.
func (e *LeaseElector) Run(ctx context.Context, lead func(context.Context, leader.Term)) error {
	led := make(chan struct{})
	done := make(chan struct{})
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.o.Namespace, Name: e.o.Name},
		Client:     e.client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.o.Identity},
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, Name: e.o.Name, ReleaseOnCancel: true,
		LeaseDuration: e.o.TTL, RenewDeadline: e.o.TTL * 2 / 3, RetryPeriod: e.o.TTL / 5,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				close(led)
				defer close(done)
				t, ok := e.fence(ctx)
				if ok {
					lead(ctx, t)
				}
			},
			OnStoppedLeading: func() {},
		},
	})
	if err != nil {
		return fmt.Errorf("leader lease: %w", err)
	}
	le.Run(ctx) // until ctx ends or the Lease is lost
	select {
	case <-led:
		<-done
	default:
		return nil
	}
	if ctx.Err() != nil {
		return nil
	}
	return leader.ErrLost
}

// fence starts the term's epoch, retrying until it is written or ctx ends.
func (e *LeaseElector) fence(ctx context.Context) (leader.Term, bool) {
	for {
		t, err := e.o.Fence(ctx)
		if err == nil {
			t.TTL = e.o.TTL // bounds the term's idle transactions as a lease row's does
			e.o.Log.Info("leading", "lease", e.o.Namespace+"/"+e.o.Name, "epoch", t.Epoch)
			return t, true
		}
		e.o.Log.Warn("start the leader's term in the database", "err", err)
		select {
		case <-ctx.Done():
			return leader.Term{}, false
		case <-time.After(e.o.TTL / 5):
		}
	}
}
