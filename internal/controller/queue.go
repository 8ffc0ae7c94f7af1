package controller

import (
	"context"
	"errors"
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

// A step is one named part of a reconcile. It returns done when the
// reconcile ends with it (nothing more to do, or wait and look again after
// retry), or an error, which ends the reconcile too and is retried with
// backoff.
type step struct {
	name string
	// failed is the reason of the Ready condition a step records when it
	// fails (reasons.go); "" for a step that records no failure (it is
	// retried and logged only).
	failed string
	run    func(context.Context) (done bool, retry time.Duration, err error)
}

// runSteps runs steps in order until one is done or fails, setting *at to
// each before it runs (so that the step records its failure with its
// reason, at.failed); at may be nil. A failure is returned as the step
// returned it, wrapped only to carry the step's name to the log (stepOf);
// its message is the step's.
func runSteps(ctx context.Context, at *step, steps ...step) (retry time.Duration, err error) {
	for _, s := range steps {
		if at != nil {
			*at = s
		}
		done, retry, err := s.run(ctx)
		if err != nil {
			return retry, &stepError{step: s.name, err: err}
		}
		if done {
			return retry, nil
		}
	}
	return 0, nil
}

type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// stepOf names the step a reconcile failed in ("" if none said).
func stepOf(err error) string {
	var se *stepError
	if errors.As(err, &se) {
		return se.step
	}
	return ""
}
