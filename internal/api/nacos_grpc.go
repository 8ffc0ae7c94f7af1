package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	nacospb "github.com/nacos-group/nacos-sdk-go/v2/api/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/anypb"

	"berth.dev/berth/internal/audit"
	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/configcenter"
	"berth.dev/berth/internal/platform"
	"berth.dev/berth/internal/resource"
)

// # Nacos 2.x gRPC
//
// Nacos 2.x clients talk gRPC on the HTTP port + 1000: unary
// Request/request for their requests and one BiRequestStream/requestBiStream
// per connection, on which the server pushes (ConfigChangeNotifyRequest,
// ClientDetectionRequest, ConnectResetRequest) and the client sends its
// ConnectionSetupRequest and its answers. Every payload is
// {metadata{type, headers, clientIp}, body: Any whose value is the JSON of
// the request or response named by type}. Berth uses the Nacos Go SDK's
// generated protobuf types and writes the JSON bodies itself.
//
// A connection is known by its peer address from the ServerCheckRequest
// that opens it: unary requests and the stream of one client connection
// share it. Requests carry the accessToken in their headers, as the
// clients send it; each is authorised by Berth's roles as over HTTP.

// Bounds of the Nacos gRPC server.
const (
	// MaxNacosConnections is how many connections the server holds.
	MaxNacosConnections = 20000
	// MaxNacosMessage bounds one message, in bytes.
	MaxNacosMessage = configcenter.MaxContent + 256<<10
	// PendingTimeout is how long a connection opened by a
	// ServerCheckRequest is kept without its stream: ServerCheck needs no
	// credentials, so what it opens must not pile up.
	PendingTimeout = 30 * time.Second
)

// NacosGRPC serves the Nacos 2.x gRPC protocol for the config center.
type NacosGRPC struct {
	nacospb.UnimplementedRequestServer
	nacospb.UnimplementedBiRequestStreamServer
	a      *API
	log    *slog.Logger
	server *grpc.Server
	seq    atomic.Int64
	acks   atomic.Int64 // ConfigChangeNotifyResponses received

	mu     sync.Mutex
	byPeer map[string]*nacosConn
}

type nacosConn struct {
	id, peer string
	ip       string
	opened   time.Time // by ServerCheckRequest
	mu       sync.Mutex
	labels   map[string]string
	stream   nacospb.BiRequestStream_RequestBiStreamServer
	sendMu   sync.Mutex
	watcher  *configcenter.Watcher
	raw      map[configcenter.Key]string // the tenant as the client wrote it
}

// NewNacosGRPC returns the Nacos gRPC server of a; Serve it on a
// listener. opts add to the server's options (TLS credentials).
func NewNacosGRPC(a *API, opts ...grpc.ServerOption) *NacosGRPC {
	g := &NacosGRPC{a: a, log: a.log, byPeer: map[string]*nacosConn{}}
	opts = append([]grpc.ServerOption{grpc.MaxRecvMsgSize(MaxNacosMessage), grpc.MaxSendMsgSize(MaxNacosMessage),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.MaxConcurrentStreams(64)}, opts...)
	g.server = grpc.NewServer(opts...)
	nacospb.RegisterRequestServer(g.server, g)
	nacospb.RegisterBiRequestStreamServer(g.server, g)
	return g
}

// Serve serves ln until Stop.
func (g *NacosGRPC) Serve(ln net.Listener) error { return g.server.Serve(ln) }

// Stop asks every client to reconnect (ConnectResetRequest, so they move
// on without waiting for a timeout) and stops the server.
func (g *NacosGRPC) Stop() {
	g.mu.Lock()
	conns := make([]*nacosConn, 0, len(g.byPeer))
	for _, c := range g.byPeer {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		_ = g.push(c, "ConnectResetRequest", map[string]any{"module": "internal"})
	}
	g.server.Stop()
}

// NotifyAcks is how many pushed changes clients have acknowledged.
func (g *NacosGRPC) NotifyAcks() int64 { return g.acks.Load() }

// Connections is how many client connections are open.
func (g *NacosGRPC) Connections() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.byPeer)
}

// response is the common part of every Nacos response.
type nacosResponse struct {
	ResultCode int    `json:"resultCode"`
	ErrorCode  int    `json:"errorCode"`
	Success    bool   `json:"success"`
	Message    string `json:"message"`
	RequestID  string `json:"requestId"`
}

var ok200 = nacosResponse{ResultCode: 200, Success: true}

// failed is the response of a request that failed with err: Nacos' codes
// for not found (300), a conflict (400), no permission (403) and others.
func failed(err error) nacosResponse {
	status, body, _ := classify(err)
	code := 500
	switch {
	case errors.Is(err, resource.ErrNotFound):
		code, body.Message = 300, "config data not exist"
	case errors.Is(err, resource.ErrConflict):
		code = 400
	case status == 401 || status == 403:
		code = 403
	case status < 500:
		code = status
	}
	msg := body.Message
	if msg == "" {
		msg = err.Error()
		if status >= 500 {
			msg = "internal error"
		}
	}
	for _, f := range body.Fields {
		msg += "; " + f.Path + ": " + f.Reason
	}
	return nacosResponse{ResultCode: 500, ErrorCode: code, Message: msg}
}

func reply(typ string, v any) (*nacospb.Payload, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &nacospb.Payload{Metadata: &nacospb.Metadata{Type: typ}, Body: &anypb.Any{Value: b}}, nil
}

// listenContext is one item a ConfigBatchListenRequest names.
type listenContext struct {
	DataID string `json:"dataId"`
	Group  string `json:"group"`
	MD5    string `json:"md5"`
	Tenant string `json:"tenant"`
}

// configRequest is the body of Nacos' config requests.
type configRequest struct {
	RequestID   string            `json:"requestId"`
	DataID      string            `json:"dataId"`
	Group       string            `json:"group"`
	Tenant      string            `json:"tenant"`
	Content     string            `json:"content"`
	CasMD5      string            `json:"casMd5"`
	AdditionMap map[string]string `json:"additionMap"`
	Listen      bool              `json:"listen"`
	Contexts    []listenContext   `json:"configListenContexts"`
	// ConnectionSetupRequest
	Labels        map[string]string `json:"labels"`
	ClientVersion string            `json:"clientVersion"`
}

// Request answers one unary request.
func (g *NacosGRPC) Request(ctx context.Context, p *nacospb.Payload) (*nacospb.Payload, error) {
	typ := p.GetMetadata().GetType()
	var req configRequest
	if b := p.GetBody().GetValue(); len(b) > 0 {
		if err := json.Unmarshal(b, &req); err != nil {
			r := nacosResponse{ResultCode: 500, ErrorCode: 400, Message: "body is not the JSON of " + typ}
			return reply("ErrorResponse", r)
		}
	}
	addr := peerOf(ctx)
	switch typ {
	case "ServerCheckRequest":
		return g.serverCheck(addr, req)
	case "HealthCheckRequest":
		return reply("HealthCheckResponse", g.withID(ok200, req))
	case "ConfigQueryRequest", "ConfigPublishRequest", "ConfigRemoveRequest", "ConfigBatchListenRequest":
		c, err := g.a.nacosCaller(ctx, p.GetMetadata().GetHeaders()["accessToken"], hostOf(addr), req.RequestID)
		if err != nil {
			return reply(responseType(typ), g.withID(failed(err), req))
		}
		return g.config(ctx, addr, typ, c, req)
	}
	r := nacosResponse{ResultCode: 500, ErrorCode: 501, Message: "Berth's config center does not serve " + typ}
	return reply("ErrorResponse", g.withID(r, req))
}

func (g *NacosGRPC) withID(r nacosResponse, req configRequest) nacosResponse {
	r.RequestID = req.RequestID
	return r
}

func responseType(req string) string {
	return map[string]string{"ConfigQueryRequest": "ConfigQueryResponse", "ConfigPublishRequest": "ConfigPublishResponse",
		"ConfigRemoveRequest": "ConfigRemoveResponse", "ConfigBatchListenRequest": "ConfigChangeBatchListenResponse"}[req]
}

func peerOf(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// serverCheck opens a connection: its ID, known by the peer address.
func (g *NacosGRPC) serverCheck(addr string, req configRequest) (*nacospb.Payload, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.byPeer[addr]
	if c == nil {
		g.sweepPending()
		if len(g.byPeer) >= MaxNacosConnections {
			return reply("ServerCheckResponse", g.withID(nacosResponse{ResultCode: 500, ErrorCode: 503, Message: "too many connections"}, req))
		}
		id := strconv.FormatInt(time.Now().UnixMilli(), 10) + "_" + addr + "_" + strconv.FormatInt(g.seq.Add(1), 10)
		c = &nacosConn{id: id, peer: addr, ip: hostOf(addr), opened: time.Now(), raw: map[configcenter.Key]string{}}
		if g.a.watch != nil {
			c.watcher = g.a.watch.NewWatcher()
		}
		g.byPeer[addr] = c
	}
	return reply("ServerCheckResponse", struct {
		nacosResponse
		ConnectionID string `json:"connectionId"`
	}{g.withID(ok200, req), c.id})
}

// sweepPending forgets the connections whose stream never opened within
// PendingTimeout. g.mu is held.
func (g *NacosGRPC) sweepPending() {
	for addr, c := range g.byPeer {
		c.mu.Lock()
		stale := c.stream == nil && time.Since(c.opened) > PendingTimeout
		c.mu.Unlock()
		if stale {
			delete(g.byPeer, addr)
			if c.watcher != nil {
				c.watcher.Close()
			}
		}
	}
}

func (g *NacosGRPC) conn(addr string) *nacosConn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.byPeer[addr]
}

func (c *nacosConn) client() configcenter.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return configcenter.Client{IP: c.ip, Labels: c.labels}
}

// config answers the config requests of an authenticated caller.
func (g *NacosGRPC) config(ctx context.Context, addr, typ string, caller platform.Caller, req configRequest) (*nacospb.Payload, error) {
	rt := responseType(typ)
	conn := g.conn(addr)
	client := configcenter.Client{IP: hostOf(addr)}
	if conn != nil {
		client = conn.client()
	}
	if typ == "ConfigBatchListenRequest" {
		return g.listen(ctx, conn, caller, client, req)
	}
	k, err := nacosKeyOf(req.DataID, req.Group, req.Tenant, "tenant")
	if err != nil {
		return reply(rt, g.withID(failed(err), req))
	}
	switch typ {
	case "ConfigQueryRequest":
		s, err := g.a.p.ServeConfig(ctx, caller, k, client)
		if err != nil {
			return reply(rt, g.withID(failed(err), req))
		}
		return reply(rt, struct {
			nacosResponse
			Content      string `json:"content"`
			ContentType  string `json:"contentType"`
			MD5          string `json:"md5"`
			LastModified int64  `json:"lastModified"`
			IsBeta       bool   `json:"isBeta"`
			Tag          bool   `json:"tag"`
		}{g.withID(ok200, req), s.Content, string(s.Type), s.MD5, 0, s.Gray, false})
	case "ConfigPublishRequest":
		err = g.publish(ctx, caller, k, req)
	case "ConfigRemoveRequest":
		err = g.remove(ctx, caller, k)
	}
	if err != nil {
		return reply(rt, g.withID(failed(err), req))
	}
	return reply(rt, g.withID(ok200, req))
}

func (g *NacosGRPC) publish(ctx context.Context, c platform.Caller, k configcenter.Key, req configRequest) error {
	ev := audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "config.publish", Target: k.Path()}
	if !authz.Allowed(c.Bindings, authz.ConfigWrite, authz.Scope{Tenant: k.Tenant, Project: k.Project}) {
		err := fmt.Errorf("%s on %s/%s: %w", authz.ConfigWrite, k.Tenant, k.Project, resource.ErrForbidden)
		return g.a.p.Do(ctx, c.Actor, ev, func(platform.Tx) error { return err })
	}
	add := req.AdditionMap
	ch, err := nacosChange(k, add["type"], req.Content, add["desc"], add["config_tags"])
	if err != nil {
		return err
	}
	ch.CasMD5 = req.CasMD5
	return g.a.p.Do(ctx, c.Actor, ev, func(tx platform.Tx) error {
		_, err := g.a.p.PublishConfigNow(ctx, tx, c, ch)
		return err
	})
}

func (g *NacosGRPC) remove(ctx context.Context, c platform.Caller, k configcenter.Key) error {
	ev := audit.Event{Tenant: k.Tenant, Project: k.Project, Action: "config.delete", Target: k.Path()}
	return g.a.p.Do(ctx, c.Actor, ev, func(tx platform.Tx) error {
		_, err := g.a.p.RemoveConfigNow(ctx, tx, c, k)
		return err
	})
}

// listen adds (or removes) the contexts to the connection's watcher and
// answers those whose MD5 differs from what the client is served.
func (g *NacosGRPC) listen(ctx context.Context, conn *nacosConn, c platform.Caller, client configcenter.Client, req configRequest) (*nacospb.Payload, error) {
	rt := "ConfigChangeBatchListenResponse"
	type changed struct {
		DataID string `json:"dataId"`
		Group  string `json:"group"`
		Tenant string `json:"tenant"`
	}
	out := []changed{}
	err := g.listenTo(ctx, conn, c, client, req, func(lc listenContext) { out = append(out, changed{lc.DataID, lc.Group, lc.Tenant}) })
	if err != nil {
		return reply(rt, g.withID(failed(err), req))
	}
	return reply(rt, struct {
		nacosResponse
		Changed []changed `json:"changedConfigs"`
	}{g.withID(ok200, req), out})
}

// listenTo adds (or removes) the request's contexts to the connection's
// watcher and calls changed with those whose MD5 differs from what the
// client is served.
func (g *NacosGRPC) listenTo(ctx context.Context, conn *nacosConn, c platform.Caller, client configcenter.Client, req configRequest, changed func(listenContext)) error {
	keys := make([]configcenter.Key, 0, len(req.Contexts))
	for _, lc := range req.Contexts {
		k, err := nacosKeyOf(lc.DataID, lc.Group, lc.Tenant, "tenant")
		if err != nil {
			return err
		}
		if !req.Listen {
			if conn != nil && conn.watcher != nil {
				conn.watcher.Unlisten(k)
			}
			continue
		}
		if err := authorizeRead(c, k); err != nil {
			return err
		}
		if conn != nil && conn.watcher != nil {
			conn.mu.Lock()
			conn.raw[k] = lc.Tenant
			conn.mu.Unlock()
			if !conn.watcher.Listen(k) {
				return listeningError("a connection listens to at most %d items", configcenter.MaxWatchKeys)
			}
		}
		keys = append(keys, k)
	}
	if !req.Listen {
		return nil
	}
	served, err := g.a.p.ServeConfigs(ctx, c, keys, client)
	if err != nil {
		return err
	}
	for i, lc := range req.Contexts {
		if served[i].MD5 != lc.MD5 {
			changed(lc)
		}
	}
	return nil
}

func authorizeRead(c platform.Caller, k configcenter.Key) error {
	if authz.Allowed(c.Bindings, authz.ConfigRead, authz.Scope{Tenant: k.Tenant, Project: k.Project}) {
		return nil
	}
	return fmt.Errorf("%s on %s/%s: %w", authz.ConfigRead, k.Tenant, k.Project, resource.ErrForbidden)
}

// RequestBiStream holds a connection's stream: it reads the client's
// ConnectionSetupRequest and answers, and pushes ConfigChangeNotifyRequest
// for every item the connection listens to that changed.
func (g *NacosGRPC) RequestBiStream(stream nacospb.BiRequestStream_RequestBiStreamServer) error {
	addr := peerOf(stream.Context())
	conn := g.conn(addr)
	if conn == nil {
		return errors.New("no ServerCheckRequest opened this connection")
	}
	conn.mu.Lock()
	conn.stream = stream
	conn.mu.Unlock()
	defer g.drop(conn)
	done := make(chan struct{})
	defer close(done)
	if conn.watcher != nil {
		go g.pushChanges(conn, done)
	}
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) || err != nil {
			return nil
		}
		switch p.GetMetadata().GetType() {
		case "ConfigChangeNotifyResponse", "NotifySubscriberResponse": // the Go SDK answers with the latter
			g.acks.Add(1)
			continue
		case "ConnectionSetupRequest":
		default:
			continue // the client's other answers
		}
		var req configRequest
		if json.Unmarshal(p.GetBody().GetValue(), &req) == nil {
			conn.mu.Lock()
			conn.labels = req.Labels
			conn.mu.Unlock()
		}
	}
}

func (g *NacosGRPC) drop(c *nacosConn) {
	g.mu.Lock()
	if g.byPeer[c.peer] == c {
		delete(g.byPeer, c.peer)
	}
	g.mu.Unlock()
	if c.watcher != nil {
		c.watcher.Close()
	}
}

func (g *NacosGRPC) pushChanges(c *nacosConn, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-c.watcher.C:
		}
		for _, k := range c.watcher.Take() {
			c.mu.Lock()
			tenant := c.raw[k]
			c.mu.Unlock()
			body := map[string]any{"module": "config", "dataId": k.DataID, "group": k.Group, "tenant": tenant, "headers": map[string]string{}}
			if err := g.push(c, "ConfigChangeNotifyRequest", body); err != nil {
				g.log.Debug("nacos push failed", "connection", c.id, "err", err)
				return
			}
		}
	}
}

// push sends a server request on c's stream.
func (g *NacosGRPC) push(c *nacosConn, typ string, body map[string]any) error {
	c.mu.Lock()
	s := c.stream
	c.mu.Unlock()
	if s == nil {
		return errors.New("no stream")
	}
	body["requestId"] = strconv.FormatInt(g.seq.Add(1), 10)
	p, err := reply(typ, body)
	if err != nil {
		return err
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return s.Send(p)
}
