// Package prom answers metric analysis's instant queries
// (analysis.Analyzer) from a real Prometheus through
// prometheus/client_golang's API client. It never blocks its caller: a
// query not answered yet is asked in the background, bounded by a timeout
// and a limit of queries in flight, and its answer is kept for the time it
// was asked at — a sample's time is fixed, so its answer never changes.
package prom

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"berth.dev/berth/internal/analysis"
)

// Bounds of the adapter.
const (
	// Timeout bounds one query.
	Timeout = 10 * time.Second
	// inFlight bounds the queries asked at once.
	inFlight = 8
	// keep is how long an answer is kept after it was last asked for;
	// errorKeep, an error (then it is asked again).
	keep      = 30 * time.Minute
	errorKeep = 2 * time.Second
	// maxEntries bounds the cache; past it the oldest answers go.
	maxEntries = 10000
)

// Analyzer implements analysis.Analyzer. Its zero value is not usable: use
// New.
type Analyzer struct {
	api   v1.API
	now   func() time.Time
	slots chan struct{}

	mu      sync.Mutex
	entries map[key]*entry
}

var _ analysis.Analyzer = (*Analyzer)(nil)

type key struct {
	expr string
	at   int64 // Unix milliseconds
}

type entry struct {
	done   bool
	answer analysis.Answer
	at     time.Time // when it was answered, or last asked for
}

// New returns an Analyzer asking the Prometheus at url (e.g.
// http://127.0.0.1:9090).
func New(url string) (*Analyzer, error) {
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", url, err)
	}
	return &Analyzer{api: v1.NewAPI(c), now: time.Now, slots: make(chan struct{}, inFlight), entries: map[key]*entry{}}, nil
}

// Query implements analysis.Analyzer.
func (a *Analyzer) Query(expr string, at time.Time) (analysis.Answer, bool) {
	k := key{expr, at.UnixMilli()}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.entries[k]; ok {
		if !e.done {
			return analysis.Answer{}, false
		}
		if e.answer.Err == "" || now.Sub(e.at) < errorKeep {
			e.at = now
			return e.answer, true
		}
	}
	a.sweep(now)
	a.entries[k] = &entry{at: now}
	go a.ask(k)
	return analysis.Answer{}, false
}

// ask asks Prometheus for k and keeps the answer.
func (a *Analyzer) ask(k key) {
	a.slots <- struct{}{}
	defer func() { <-a.slots }()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	v, _, _, err := a.api.Query(ctx, k.expr, time.UnixMilli(k.at), v1.WithTimeout(Timeout))
	ans := answer(v, err)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries[k] = &entry{done: true, answer: ans, at: a.now()}
}

// answer reads one number from a query's result: one series or a scalar;
// nothing or NaN is no data.
func answer(v model.Value, err error) analysis.Answer {
	if err != nil {
		return analysis.Answer{Err: err.Error()}
	}
	var f float64
	switch r := v.(type) {
	case *model.Scalar:
		f = float64(r.Value)
	case model.Vector:
		switch len(r) {
		case 0:
			return analysis.Answer{NoData: true}
		case 1:
			f = float64(r[0].Value)
		default:
			return analysis.Answer{Err: fmt.Sprintf("the query returns %d series; a check needs one number (aggregate with sum, max or avg)", len(r))}
		}
	default:
		return analysis.Answer{Err: fmt.Sprintf("the query returns a %s; a check needs one number", v.Type())}
	}
	if math.IsNaN(f) {
		return analysis.Answer{NoData: true}
	}
	return analysis.Answer{Value: f}
}

// sweep drops answers not asked for within keep and, past maxEntries, the
// oldest. Called with mu held.
func (a *Analyzer) sweep(now time.Time) {
	if len(a.entries) < maxEntries/2 {
		return
	}
	for k, e := range a.entries {
		if e.done && now.Sub(e.at) > keep {
			delete(a.entries, k)
		}
	}
	for len(a.entries) >= maxEntries {
		var oldest key
		var at time.Time
		for k, e := range a.entries {
			if e.done && (at.IsZero() || e.at.Before(at)) {
				oldest, at = k, e.at
			}
		}
		if at.IsZero() {
			return // all in flight
		}
		delete(a.entries, oldest)
	}
}
