// Command configpush measures the config center's push latency: a change
// committed in Berth → a Nacos 2.x gRPC client pushed the change, asks
// for the new content (ConfigQueryRequest, as the SDK does before calling
// its listener) and holds it. Clients are raw gRPC connections speaking
// Nacos' protocol (the SDK's own client costs a process's worth of
// goroutines and logs per client); the server is the API's Nacos gRPC
// server over a platform on SQLite whose change bus wakes a
// configcenter.Watch, as engine.New wires it (engine.New itself checks an
// environment's namespace on a real cluster, which this bench has not).
//
//	go run ./bench/configpush -clients 500 -items 50 -changes 1000
//
// Each change is made, and its latency measured from just before its
// transaction starts, only once every client of the previous one holds it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"

	nacospb "github.com/nacos-group/nacos-sdk-go/v2/api/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/berth/internal/api"
	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/change"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/identity"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/seal"
	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/tenancy"
)

const ns = "acme.payments.test"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/configpush:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("configpush", flag.ContinueOnError)
	clients := fs.Int("clients", 500, "connected clients")
	items := fs.Int("items", 50, "items; each client listens to one, round robin")
	changes := fs.Int("changes", 1000, "changes, round robin over the items")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "bench-configpush")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, filepath.Join(dir, "data"), "")
	if err != nil {
		return err
	}
	defer st.Close()
	sealer, err := seal.New(make([]byte, seal.KeySize))
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	bus := change.NewBus()
	watch := configcenter.NewWatch()
	watch.Subscribe(bus)
	p, err := platform.New(st, platform.Options{Sealer: sealer, Changes: bus,
		Identity: identity.Options{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}}})
	if err != nil {
		return err
	}
	token, err := fixture(ctx, p, *items)
	if err != nil {
		return err
	}
	a := api.New(api.Options{Log: log, Platform: p, ConfigWatch: watch, Changes: bus})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	g := api.NewNacosGRPC(a)
	go func() { _ = g.Serve(ln) }()
	defer g.Stop()

	got := make(chan receipt, *clients)
	var cs []*client
	for i := range *clients {
		c, err := connect(ctx, ln.Addr().String(), token, itemKey(i%*items), got)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		defer c.close()
		cs = append(cs, c)
	}
	perItem := make([]int, *items)
	for i := range *clients {
		perItem[i%*items]++
	}
	dev := platform.Caller{Actor: audit.Actor{User: "dev"}, Bindings: []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "acme", Project: "payments"}}}}
	var lat []time.Duration
	for n := range *changes {
		item := n % *items
		content := "rev=" + strconv.Itoa(n) + "\n"
		md5 := configcenter.MD5(content)
		t0 := time.Now()
		err := p.Do(ctx, dev.Actor, audit.Event{Action: "config.publish"}, func(tx platform.Tx) error {
			_, err := p.PublishConfig(ctx, tx, dev, configcenter.Change{Key: key(item), Content: content})
			return err
		})
		if err != nil {
			return err
		}
		for seen := 0; seen < perItem[item]; {
			select {
			case r := <-got:
				if r.md5 != md5 {
					continue // a late answer of an earlier change
				}
				lat = append(lat, r.at.Sub(t0))
				seen++
			case <-time.After(30 * time.Second):
				return fmt.Errorf("change %d: %d of %d clients got it in 30s", n, seen, perItem[item])
			}
		}
	}
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	fmt.Fprintln(stdout, "| clients | items | changes | deliveries | p50 | p90 | p99 | max |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(stdout, "| %d | %d | %d | %d | %s | %s | %s | %s |\n", *clients, *items, *changes, len(lat), q(0.5), q(0.9), q(0.99), lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}

func key(i int) configcenter.Key {
	return configcenter.Key{Tenant: "acme", Project: "payments", Environment: "test", Group: "G", DataID: itemKey(i)}
}

func itemKey(i int) string { return "item-" + strconv.Itoa(i) + ".properties" }

// fixture makes acme/payments/test with the items and a developer, and
// returns the developer's session secret (the accessToken clients send).
func fixture(ctx context.Context, p *platform.Platform, items int) (string, error) {
	var secret string
	err := p.DB.InTx(ctx, func(tx platform.Tx) error {
		a := audit.System
		if _, err := p.Tenancy.CreateTenant(ctx, tx, a, tenancy.Tenant{Name: "acme"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateProject(ctx, tx, a, tenancy.Project{Tenant: "acme", Name: "payments"}); err != nil {
			return err
		}
		if _, err := p.Tenancy.RegisterCluster(ctx, tx, a, tenancy.Cluster{Name: "c1"}, []byte("kubeconfig")); err != nil {
			return err
		}
		if _, err := p.Tenancy.CreateEnvironment(ctx, tx, a, tenancy.Environment{Tenant: "acme", Project: "payments", Name: "test", Cluster: "c1", Namespace: "acme-test"}); err != nil {
			return err
		}
		if _, err := p.Identity.CreateUser(ctx, tx, a, identity.User{Name: "dev"}, "bench-password-1"); err != nil {
			return err
		}
		if _, err := p.Tenancy.AddMember(ctx, tx, a, tenancy.Member{Scope: tenancy.Scope{Tenant: "acme", Project: "payments"}, User: "dev", Role: tenancy.Developer}); err != nil {
			return err
		}
		var err error
		_, secret, err = p.Identity.OpenSession(ctx, tx, a, "dev")
		return err
	})
	if err != nil {
		return "", err
	}
	dev := platform.Caller{Actor: audit.Actor{User: "dev"}, Bindings: []authz.Binding{{Role: authz.Developer, Scope: authz.Scope{Tenant: "acme", Project: "payments"}}}}
	for i := range items {
		err := p.Do(ctx, dev.Actor, audit.Event{Action: "config.publish"}, func(tx platform.Tx) error {
			_, err := p.PublishConfig(ctx, tx, dev, configcenter.Change{Key: key(i), Type: configcenter.Properties, Content: "rev=initial\n"})
			return err
		})
		if err != nil {
			return "", err
		}
	}
	return secret, nil
}

// receipt is a client holding an item's new content.
type receipt struct {
	md5 string
	at  time.Time
}

// client is one Nacos connection listening to one item.
type client struct {
	conn   *grpc.ClientConn
	req    nacospb.RequestClient
	stream nacospb.BiRequestStream_RequestBiStreamClient
	cancel context.CancelFunc
	token  string
	dataID string
	mu     sync.Mutex
}

func payload(typ string, body map[string]any, token string) (*nacospb.Payload, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &nacospb.Payload{Metadata: &nacospb.Metadata{Type: typ, Headers: map[string]string{"accessToken": token}}, Body: &anypb.Any{Value: b}}, nil
}

func (c *client) call(ctx context.Context, typ string, body map[string]any) (map[string]any, error) {
	p, err := payload(typ, body, c.token)
	if err != nil {
		return nil, err
	}
	resp, err := c.req.Request(ctx, p)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(resp.GetBody().GetValue(), &out); err != nil {
		return nil, err
	}
	if out["resultCode"] != float64(200) {
		return nil, fmt.Errorf("%s: %v", typ, out)
	}
	return out, nil
}

func connect(ctx context.Context, addr, token, dataID string, got chan<- receipt) (*client, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, req: nacospb.NewRequestClient(conn), token: token, dataID: dataID}
	if _, err := c.call(ctx, "ServerCheckRequest", map[string]any{}); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	if c.stream, err = nacospb.NewBiRequestStreamClient(conn).RequestBiStream(sctx); err != nil {
		return nil, err
	}
	setup, err := payload("ConnectionSetupRequest", map[string]any{"clientVersion": "bench", "labels": map[string]string{}}, token)
	if err != nil {
		return nil, err
	}
	if err := c.stream.Send(setup); err != nil {
		return nil, err
	}
	listen := map[string]any{"listen": true, "configListenContexts": []map[string]string{{"dataId": dataID, "group": "G", "tenant": ns, "md5": configcenter.MD5("rev=initial\n")}}}
	if _, err := c.call(ctx, "ConfigBatchListenRequest", listen); err != nil {
		return nil, err
	}
	go c.receive(ctx, got)
	return c, nil
}

// receive answers pushes: it asks for the item's content, as the SDK
// does, and reports when it holds it.
func (c *client) receive(ctx context.Context, got chan<- receipt) {
	for {
		p, err := c.stream.Recv()
		if err != nil {
			return
		}
		if p.GetMetadata().GetType() != "ConfigChangeNotifyRequest" {
			continue
		}
		out, err := c.call(ctx, "ConfigQueryRequest", map[string]any{"dataId": c.dataID, "group": "G", "tenant": ns})
		if err != nil {
			continue
		}
		md5, _ := out["md5"].(string)
		got <- receipt{md5: md5, at: time.Now()}
	}
}

func (c *client) close() {
	c.cancel()
	_ = c.conn.Close()
}
