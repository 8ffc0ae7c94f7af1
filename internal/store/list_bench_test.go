package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/clock"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/store/storetest"
	"berth.dev/berth/internal/tenancy"
)

// BenchmarkListApplications measures the store call behind the API's
// application list with 10,000 applications in one project: one page of
// 100 (the API default), one of 1,000 (the maximum), and paging through
// all 10,000. It reports p50 and p99 of the call in addition to ns/op.
//
//	go test -run '^$' -bench ListApplications -benchtime 200x ./internal/store
func BenchmarkListApplications(b *testing.B) {
	for _, db := range []struct {
		name string
		new  func(testing.TB) storetest.NewStore
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(db.name, func(b *testing.B) {
			st := db.new(b)(b)
			p := seed(b, st, 10_000)
			for _, limit := range []int{100, 1000} {
				b.Run(fmt.Sprintf("page=%d", limit), func(b *testing.B) {
					measure(b, func() int { return list(b, st, p, resource.ListOptions{Limit: limit}) })
				})
			}
			b.Run("all=10000", func(b *testing.B) {
				measure(b, func() int {
					n, o := 0, resource.ListOptions{Limit: resource.MaxLimit}
					for {
						var page resource.Page[apps.Application]
						if err := st.View(b.Context(), func(tx platform.Tx) (err error) {
							page, err = p.Apps.ListApplications(b.Context(), tx, "acme", "payments", o)
							return err
						}); err != nil {
							b.Fatal(err)
						}
						n += len(page.Items)
						if page.Continue == "" {
							return n
						}
						o.Continue = page.Continue
					}
				})
			})
		})
	}
}

func list(b *testing.B, st *store.Store, p *platform.Platform, o resource.ListOptions) int {
	var page resource.Page[apps.Application]
	if err := st.View(b.Context(), func(tx platform.Tx) (err error) {
		page, err = p.Apps.ListApplications(b.Context(), tx, "acme", "payments", o)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return len(page.Items)
}

// measure runs call b.N times and reports the p50 and p99 latency.
func measure(b *testing.B, call func() int) {
	durs := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		if call() == 0 {
			b.Fatal("empty list")
		}
		durs = append(durs, time.Since(start))
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
}

func seed(b *testing.B, st *store.Store, n int) *platform.Platform {
	b.Helper()
	sealer, _ := seal.New(make([]byte, seal.KeySize))
	p, err := platform.New(st, platform.Options{Clock: clock.NewFake(storetest.T0), Sealer: sealer})
	if err != nil {
		b.Fatal(err)
	}
	ctx, a := b.Context(), audit.Actor{User: "bench"}
	if err := st.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(ctx, tx, a, tenancy.Tenant{Name: "acme"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateProject(ctx, tx, a, tenancy.Project{Tenant: "acme", Name: "payments"}); err != nil {
			return err
		}
		for i := range n {
			app := apps.Application{Tenant: "acme", Project: "payments", Name: fmt.Sprintf("svc-%05d", i),
				DisplayName: "Service " + fmt.Sprint(i), Description: "a channel service of the retail bank"}
			if _, err := p.Apps.CreateApplication(ctx, tx, a, app); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return p
}
