package controller

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// newQueue returns a rate-limited work queue whose failed keys are retried
// after base, doubling up to max.
func newQueue[K comparable](name string, base, max time.Duration) workqueue.TypedRateLimitingInterface[K] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[K](base, max),
		workqueue.TypedRateLimitingQueueConfig[K]{Name: name})
}

// startWorkers runs workers goroutines that take keys from q and reconcile
// them, until q shuts down. A reconcile that fails is retried with backoff
// (after failed hears of it); one that asks to look again after a delay is
// queued after it. The returned function shuts q down and waits for the
// workers.
func startWorkers[K comparable](ctx context.Context, q workqueue.TypedRateLimitingInterface[K], workers int,
	reconcile func(context.Context, K) (time.Duration, error), failed func(K, error)) (stop func()) {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for processNext(ctx, q, reconcile, failed) {
			}
		}()
	}
	return func() {
		q.ShutDown()
		wg.Wait()
	}
}

func processNext[K comparable](ctx context.Context, q workqueue.TypedRateLimitingInterface[K],
	reconcile func(context.Context, K) (time.Duration, error), failed func(K, error)) bool {
	k, shutdown := q.Get()
	if shutdown {
		return false
	}
	defer q.Done(k)
	retry, err := reconcile(ctx, k)
	switch {
	case err != nil:
		failed(k, err)
		q.AddRateLimited(k)
	case retry > 0:
		q.Forget(k)
		q.AddAfter(k, retry)
	default:
		q.Forget(k)
	}
	return true
}
