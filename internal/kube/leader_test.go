package kube_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	kptr "k8s.io/utils/ptr"

	"berth.dev/berth/internal/kube"
	"berth.dev/berth/internal/leader"
	"berth.dev/berth/internal/localcluster/clustertest"
)

// TestLeaseElectorsLeadOneAtATime runs two replicas' electors on one
// Kubernetes Lease: the first leads with a new epoch, hands over when it
// stops, and the second's term is lost when the Lease names someone else.
func TestLeaseElectorsLeadOneAtATime(t *testing.T) {
	c := clustertest.Start(t)
	ns := c.Namespace(t)
	var epochs atomic.Int64
	fence := func(context.Context) (leader.Term, error) {
		return leader.Term{Name: "controllers", Epoch: epochs.Add(1)}, nil
	}
	elect := func(ctx context.Context, id string) (<-chan leader.Term, <-chan context.Context, <-chan error) {
		e, err := kube.NewLeaseElectorForConfig(c.RESTConfig(), kube.LeaseOptions{Namespace: ns, Name: "berth-controllers",
			Identity: id, TTL: 2 * time.Second, Fence: fence, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		terms, ctxs, errc := make(chan leader.Term, 1), make(chan context.Context, 1), make(chan error, 1)
		go func() {
			errc <- e.Run(ctx, func(ctx context.Context, term leader.Term) {
				terms <- term
				ctxs <- ctx
				<-ctx.Done()
			})
		}()
		return terms, ctxs, errc
	}
	holder := func() string {
		l, err := c.Client.CoordinationV1().Leases(ns).Get(t.Context(), "berth-controllers", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}

	ctxA, stopA := context.WithCancel(t.Context())
	defer stopA()
	termsA, _, errA := elect(ctxA, "a")
	if term := <-termsA; term.Epoch != 1 {
		t.Errorf("a's epoch = %d, want 1", term.Epoch)
	}
	termsB, ctxsB, errB := elect(t.Context(), "b")
	if h := holder(); h != "a" {
		t.Errorf("the Lease names %q while a leads", h)
	}
	stopA() // a steps down and releases the Lease
	if err := <-errA; err != nil {
		t.Errorf("a stepping down: %v", err)
	}
	if term := <-termsB; term.Epoch != 2 {
		t.Errorf("b's epoch = %d, want 2", term.Epoch)
	}
	leadB := <-ctxsB
	if h := holder(); h != "b" {
		t.Errorf("the Lease names %q while b leads", h)
	}

	// Someone else takes the Lease: b cannot renew it, and its term ends.
	// b renews it meanwhile, so the intruder's update may meet a newer
	// version of it: it reads it again and takes it then, as any other
	// contender would.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l, err := c.Client.CoordinationV1().Leases(ns).Get(t.Context(), "berth-controllers", metav1.GetOptions{})
		if err != nil {
			return err
		}
		l.Spec.HolderIdentity = kptr.To("intruder")
		l.Spec.LeaseDurationSeconds = kptr.To(int32(3600))
		l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		_, err = c.Client.CoordinationV1().Leases(ns).Update(t.Context(), l, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	<-leadB.Done()
	if err := <-errB; !errors.Is(err, leader.ErrLost) {
		t.Errorf("b after losing the Lease: %v, want leader.ErrLost", err)
	}
}
