package grayrelease_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkAPIChangeToGatewayRouting measures how long after a gray plan
// change is sent to the API the gateway routes by it: each iteration moves
// the running plan between step 1 (pilot teller) and step 2 (plus branch
// 0101) and polls the gateway with a branch-0101 request until it reaches
// the version the new step calls for. Reports p50 and p99 in milliseconds
// (bench/gray/run.sh; docs/benchmarks.md, "Gray release").
func BenchmarkAPIChangeToGatewayRouting(b *testing.B) {
	s, _ := newStack(b)
	plans := "/tenants/bank/projects/pay/environments/dev/grayplans"
	s.must("POST", plans, map[string]any{"application": "svc", "grayVersion": "v2", "steps": []map[string]any{
		{"tellers": []string{"T900"}}, {"branches": []string{"0101"}}}}, http.StatusCreated)
	branch := org("T001", "0101", "south")
	s.eventually("pilot teller on gray", org("T900", "0202", "south"), "v2")
	client := &http.Client{Timeout: 5 * time.Second}
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		step, want := 1, "v2"
		if i%2 == 1 {
			step, want = 0, "v1"
		}
		start := time.Now()
		done := make(chan []byte, 1)
		go func() {
			code, body := s.call("POST", plans+"/svc/set", map[string]int{"step": step}, s.token)
			if code != http.StatusOK {
				done <- body
				return
			}
			done <- nil
		}()
		for {
			got, err := s.version(client, branch)
			if err != nil {
				b.Fatal(err)
			}
			if got == want {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("step %d never routed branch 0101 to %s", step+1, want)
			}
		}
		took = append(took, time.Since(start))
		if body := <-done; body != nil {
			b.Fatalf("set step %d: %s", step, body)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	q := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}
