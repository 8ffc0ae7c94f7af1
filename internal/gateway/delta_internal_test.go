package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
)

// manyApps is a configuration of n apps, one route each, on hosts of
// their own (the shape the server publishes).
func manyApps(n int) Config {
	cfg := Config{Routes: []Route{}, Apps: []App{}}
	for i := range n {
		name := fmt.Sprintf("local/bank/app-%06d", i)
		cfg.Apps = append(cfg.Apps, App{Name: name, Stable: Upstream{Addresses: []string{"127.0.0.1:8080"}}})
		cfg.Routes = append(cfg.Routes, Route{Name: name + "#0", Host: fmt.Sprintf("app-%06d.bank", i), PathPrefix: "/", App: name})
	}
	return cfg
}

// lastEvent parses the one event of ev.
func lastEvent(t testing.TB, ev []byte) Event {
	var got Event
	if err := ReadEvents(bytes.NewReader(ev), func() {}, func(e Event) { got = e }); err != nil {
		t.Fatal(err)
	}
	return got
}

// BenchmarkChange measures one app changed in a configuration of 2,000
// and 10,000, from the server's publication to the gateway's table
// swapped in: as a delta (stream version 2) and as a whole configuration
// (version 1, and what every change cost before ADR 0022).
func BenchmarkChange(b *testing.B) {
	for _, n := range []int{2000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchmarkChange(b, n) })
	}
}

func benchmarkChange(b *testing.B, n int) {
	cfg := manyApps(n)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.Run("delta", func(b *testing.B) {
		pub, gw := NewPublisher(), New(Options{Log: log})
		units := cfg.Units()
		if err := pub.Set(units); err != nil {
			b.Fatal(err)
		}
		u, err := decodeUpdate(lastEvent(b, pub.rendered(2)))
		if err != nil {
			b.Fatal(err)
		}
		if err := gw.update(u); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			c := *units[i%n]
			c.App.Stable.Addresses = []string{fmt.Sprintf("127.0.0.1:%d", 9000+i%1000)}
			units[i%n] = &c
			if err := pub.Set(units); err != nil {
				b.Fatal(err)
			}
			u, err := decodeUpdate(lastEvent(b, pub.deltas[len(pub.deltas)-1].event))
			if err != nil {
				b.Fatal(err)
			}
			if err := gw.update(u); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole", func(b *testing.B) {
		gw := New(Options{Log: log})
		for i := range b.N {
			cfg.Apps[i%n].Stable.Addresses = []string{fmt.Sprintf("127.0.0.1:%d", 9000+i%1000)}
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			data, err := json.Marshal(cfg)
			if err != nil {
				b.Fatal(err)
			}
			got, err := decodeStreamed(data)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := gw.Load(got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestTheDigestDoesNotDependOnTheOrderOfChanges builds one set of units
// by two paths (all at once; in three deltas with a replacement and a
// deletion) and checks both name it alike, and differently from a set
// that differs in one unit.
func TestTheDigestDoesNotDependOnTheOrderOfChanges(t *testing.T) {
	enc := func(cfg Config) map[string][32]byte {
		out := map[string][32]byte{}
		for _, u := range cfg.Units() {
			e, err := encodeUnit(u)
			if err != nil {
				t.Fatal(err)
			}
			out[u.App.Name] = e.hash
		}
		return out
	}
	all := enc(manyApps(600))
	var whole digest
	var hashes [][32]byte
	for _, h := range all {
		hashes = append(hashes, h)
	}
	want, commit := whole.with(nil, hashes)
	commit()

	var steps digest
	first := enc(manyApps(300))
	other := enc(manyApps(1))
	otherApp := manyApps(1)
	otherApp.Apps[0].Stable.Addresses = []string{"10.0.0.1:80"}
	changed := enc(otherApp)
	var add [][32]byte
	for _, h := range first {
		add = append(add, h)
	}
	_, commit = steps.with(nil, append(add, enc(Config{Apps: []App{{Name: "gone", Stable: Upstream{Addresses: []string{"10.0.0.2:80"}}}}, Routes: []Route{}})["gone"]))
	commit()
	// app-000000 replaced by a different unit, and back; "gone" deleted.
	name := "local/bank/app-000000"
	_, commit = steps.with([][32]byte{other[name]}, [][32]byte{changed[name]})
	commit()
	var rest [][32]byte
	for n, h := range all {
		if _, ok := first[n]; !ok {
			rest = append(rest, h)
		}
	}
	gone := enc(Config{Apps: []App{{Name: "gone", Stable: Upstream{Addresses: []string{"10.0.0.2:80"}}}}, Routes: []Route{}})["gone"]
	got, commit := steps.with([][32]byte{changed[name], gone}, append(rest, other[name]))
	commit()
	if got != want {
		t.Fatalf("the same units by deltas are named %s, all at once %s", got, want)
	}
	if differs, _ := steps.with([][32]byte{other[name]}, [][32]byte{changed[name]}); differs == want {
		t.Fatal("a set differing in one unit has the same name")
	}
}
