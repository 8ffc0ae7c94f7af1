// Command api measures the API's list latency with many applications in one
// project: a real server on a loopback listener over SQLite or PostgreSQL,
// real HTTP, a bearer token, authorization on every request.
//
//	go run ./bench/api -db sqlite -n 10000
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"time"

	"berth.dev/berth/bench/internal/benchdb"
	"berth.dev/berth/internal/api"
	"berth.dev/berth/internal/api/apitypes"
	"berth.dev/berth/internal/apps"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/tenancy"
)

func main() {
	db := flag.String("db", "sqlite", "sqlite or postgres")
	url := flag.String("url", "", "PostgreSQL URL (with -db postgres)")
	n := flag.Int("n", 10000, "applications in the project")
	requests := flag.Int("requests", 2000, "requests per page measurement")
	walks := flag.Int("walks", 20, "full walks of the list")
	flag.Parse()
	if err := run(context.Background(), *db, *url, *n, *requests, *walks); err != nil {
		fmt.Fprintln(os.Stderr, "bench/api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, db, url string, n, requests, walks int) error {
	dir, err := os.MkdirTemp("", "berth-bench-api")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := benchdb.Open(ctx, db, url, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, err := seal.New(bytes.Repeat([]byte{1}, seal.KeySize))
	if err != nil {
		return err
	}
	p, err := platform.New(st, platform.Options{Sealer: sealer})
	if err != nil {
		return err
	}
	const password = "bench-admin-password"
	if _, _, err := p.Bootstrap(ctx, password); err != nil {
		return err
	}
	if err := seed(ctx, p, n); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", api.New(api.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Platform: p}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String() + api.Prefix

	token, err := login(ctx, base, password)
	if err != nil {
		return err
	}
	list := base + "/tenants/bank/projects/pay/applications"
	get := func(u string) (string, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var page struct {
			Items    []json.RawMessage `json:"items"`
			Continue string            `json:"continue"`
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			return "", err
		}
		return page.Continue, nil
	}
	first, err := measure(requests, func() error { _, err := get(list + "?limit=100"); return err })
	if err != nil {
		return err
	}
	random, err := measure(requests, func() error {
		after := resource.EncodeContinue(appName(rand.IntN(n - 100)))
		_, err := get(list + "?limit=100&continue=" + after)
		return err
	})
	if err != nil {
		return err
	}
	walk, err := measure(walks, func() error {
		next := ""
		for {
			c, err := get(list + "?limit=1000&continue=" + next)
			if err != nil || c == "" {
				return err
			}
			next = c
		}
	})
	if err != nil {
		return err
	}
	fmt.Printf("| %s | %d | %s | %s | %s |\n", db, n, first, random, walk)
	return nil
}

func appName(i int) string { return fmt.Sprintf("app-%06d", i) }

// seed creates tenant bank, project pay and n applications, 500 per
// transaction, each with its audit record as the API would write it.
func seed(ctx context.Context, p *platform.Platform, n int) error {
	err := p.DB.InTx(ctx, func(tx platform.Tx) error {
		if _, err := p.Tenancy.CreateTenant(ctx, tx, audit.System, tenancy.Tenant{Name: "bank"}); err != nil {
			return err
		}
		_, err := p.Tenancy.CreateProject(ctx, tx, audit.System, tenancy.Project{Tenant: "bank", Name: "pay"})
		return err
	})
	if err != nil {
		return err
	}
	for start := 0; start < n; start += 500 {
		err := p.DB.InTx(ctx, func(tx platform.Tx) error {
			for i := start; i < min(start+500, n); i++ {
				app := apps.Application{Tenant: "bank", Project: "pay", Name: appName(i)}
				if _, err := p.Apps.CreateApplication(ctx, tx, audit.System, app); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed applications from %d: %w", start, err)
		}
	}
	return nil
}

func login(ctx context.Context, base, password string) (string, error) {
	body, _ := json.Marshal(apitypes.LoginRequest{Username: identity.AdminUser, Password: password, Token: &apitypes.TokenRequest{Name: "bench"}})
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var lr apitypes.LoginResponse
	if err := json.NewDecoder(resp.Body).Decode(&lr); err != nil {
		return "", err
	}
	return lr.Token, nil
}

// stats are latency percentiles of one measurement.
type stats struct{ p50, p99 time.Duration }

func (s stats) String() string {
	return fmt.Sprintf("%s / %s", s.p50.Round(10*time.Microsecond), s.p99.Round(10*time.Microsecond))
}

func measure(n int, fn func() error) (stats, error) {
	durs := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := fn(); err != nil {
			return stats{}, err
		}
		durs = append(durs, time.Since(start))
	}
	slices.Sort(durs)
	at := func(q float64) time.Duration { return durs[min(len(durs)-1, int(q*float64(len(durs))))] }
	return stats{at(0.50), at(0.99)}, nil
}
