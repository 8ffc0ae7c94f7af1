package servercmd

import (
	"context"
	"sync"

	"berth.dev/berth/internal/controller"
	"berth.dev/berth/internal/platform"
)

// runIsolation runs the isolation controller, woken by every committed
// isolation change, until the returned function is called, which waits
// for it.
func runIsolation(ctx context.Context, p *platform.Platform, isolation *controller.Isolation) func() {
	ctx, cancel := context.WithCancel(ctx)
	p.Network.OnIsolationChange(isolation.Trigger)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); isolation.Run(ctx) }()
	return func() {
		cancel()
		wg.Wait()
	}
}
