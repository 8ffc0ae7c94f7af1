package api

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"berth.dev/berth/internal/store"
	"berth.dev/berth/internal/store/storetest"
)

// cutter is a TCP proxy to PostgreSQL that can cut every connection and
// refuse new ones (the database gone), then take them again on the same
// address (the database back).
type cutter struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newCutter(t *testing.T, target string) *cutter {
	c := &cutter{t: t, target: target}
	c.up()
	t.Cleanup(c.down)
	return c
}

func (c *cutter) up() {
	addr := c.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.ln, c.addr = ln, ln.Addr().String()
	c.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", c.target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

func (c *cutter) down() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ln != nil {
		c.ln.Close()
		c.ln = nil
	}
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// TestDatabaseOutageAnswers503AndRecovers: while PostgreSQL cannot be
// reached the API answers 503 database_unavailable with Retry-After, for
// reads and writes, and writes nothing; when it is back, the same requests
// succeed without restarting anything.
func TestDatabaseOutageAnswers503AndRecovers(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(storetest.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	cut := newCutter(t, u.Host)
	u.Host = cut.addr
	h := newHarnessWith(t, func(tb testing.TB) *store.Store {
		st, err := store.Open(tb.Context(), tb.TempDir(), u.String())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = st.Close() })
		return st
	}, Options{})
	admin := h.token("admin", adminPassword)
	h.must(http.StatusCreated, admin, "POST", "/tenants", map[string]string{"name": "before"})

	cut.down()
	for _, rq := range []struct{ method, path string }{{"GET", "/tenants"}, {"POST", "/tenants"}} {
		var body any
		if rq.method == "POST" {
			body = map[string]string{"name": "during"}
		}
		r := h.call(admin, rq.method, rq.path, body)
		if e := r.errorBody(t); r.status != http.StatusServiceUnavailable || e.Code != "database_unavailable" || r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s with the database down: %d %+v, Retry-After %q; want 503 database_unavailable with Retry-After",
				rq.method, rq.path, r.status, e, r.header.Get("Retry-After"))
		}
	}

	cut.up()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.call(admin, "POST", "/tenants", map[string]string{"name": "after"})
		if r.status == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database is back, but creating a tenant answers %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var list struct {
		Items []struct{ Name string } `json:"items"`
	}
	h.must(http.StatusOK, admin, "GET", "/tenants", nil).decode(t, &list)
	var names []string
	for _, i := range list.Items {
		names = append(names, i.Name)
	}
	if len(names) != 2 || names[0] != "after" && names[1] != "after" {
		t.Errorf("tenants %v, want before and after, nothing of the outage", names)
	}
}
