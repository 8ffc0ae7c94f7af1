package ratelimit_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"berth.dev/berth/internal/gateway/ratelimit"
)

func TestLimiterRetryAfterAndRefill(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := ratelimit.New(ratelimit.Spec{Rate: ratelimit.Rate{PerSecond: 0.5, Burst: 1}}, func() time.Time { return now })
	if ok, _ := l.Allow(http.Header{}); !ok {
		t.Fatal("a full bucket refused")
	}
	ok, wait := l.Allow(http.Header{})
	if ok || ratelimit.RetryAfterSeconds(wait) != 2 {
		t.Fatalf("empty bucket: ok=%v wait=%v, want a refusal with Retry-After 2", ok, wait)
	}
	now = now.Add(2 * time.Second)
	if ok, _ := l.Allow(http.Header{}); !ok {
		t.Fatal("refilled bucket refused")
	}
}

func TestLimiterBoundsPerValueBuckets(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	l := ratelimit.New(ratelimit.Spec{Rate: ratelimit.Rate{PerSecond: 1, Burst: 1}, ByHeader: "X-Org-Teller"}, func() time.Time { return now })
	for i := range ratelimit.MaxKeys {
		if ok, _ := l.Allow(http.Header{"X-Org-Teller": {strconv.Itoa(i)}}); !ok {
			t.Fatalf("teller %d refused on its first request", i)
		}
	}
	if ok, _ := l.Allow(http.Header{"X-Org-Teller": {"new-a"}}); !ok {
		t.Fatal("overflow bucket refused its first request")
	}
	if ok, _ := l.Allow(http.Header{"X-Org-Teller": {"new-b"}}); ok {
		t.Fatal("values beyond MaxKeys do not share the overflow bucket")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2} {
		if got := ratelimit.RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}
