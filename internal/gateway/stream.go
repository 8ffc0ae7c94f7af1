package gateway

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The configuration stream is Server-Sent Events (text/event-stream): one
// "config" event per configuration, its id the SHA-256 of the JSON data,
// the data one line of JSON; ": ping" comments every Heartbeat keep idle
// proxies from closing the stream and let the subscriber notice a dead
// server. SSE was chosen over long-polling because it is one request for
// the stream's life, is plain HTTP through any proxy, and the framing is
// trivial to parse with a bound (docs/gateway.md).

// Publisher is the http.Handler the Berth server mounts for gateways to
// watch. Every subscriber gets the current configuration at once, then each
// new one. It is safe for concurrent use.
type Publisher struct {
	// Heartbeat is the interval of keep-alive comments. Default 15s.
	Heartbeat time.Duration

	// AckWait bounds how long Delivered waits for a connected gateway that
	// does not report the current configuration applied. Default 10s.
	AckWait time.Duration

	mu      sync.Mutex
	data    []byte
	id      string
	since   time.Time     // when id became current
	changed chan struct{} // closed and replaced on every Publish
	// subs are the connected subscribers that report what they apply
	// (header SubscriberHeader), by subscriber ID: how many streams each
	// holds open and the configuration ID it last reported applied.
	subs map[string]*subscription

	// With a Ledger (Share), the subscribers whose rows are to be written
	// again, and a wake-up for RunLedger.
	ledger  Ledger
	replica string
	dirty   map[string]bool
	wrote   chan struct{}
}

type subscription struct {
	streams int
	applied string
	// behind is when the subscriber fell behind: the first publication (or
	// its connection) since it last reported the current configuration
	// applied. Zero while it is current. AckWait counts from here, so a
	// stream of new publications does not keep a stuck gateway waited for.
	behind time.Time
}

// SubscriberHeader names, on a stream request, the subscriber that will
// report each configuration it applies (Publisher.Applied). A gateway
// without it is not waited for.
const SubscriberHeader = "X-Berth-Gateway-Subscriber"

// MaxSubscribers bounds the subscribers a publisher tracks; streams past it
// are served but not waited for.
const MaxSubscribers = 1024

// NewPublisher returns a publisher with no configuration yet: subscribers
// wait for the first.
func NewPublisher() *Publisher {
	return &Publisher{Heartbeat: 15 * time.Second, AckWait: 10 * time.Second, changed: make(chan struct{}), subs: map[string]*subscription{}}
}

// Publish validates cfg and, if it differs from the current one, sends it
// to every subscriber.
func (p *Publisher) Publish(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode configuration: %w", err)
	}
	sum := sha256.Sum256(data)
	id := hex.EncodeToString(sum[:])
	p.mu.Lock()
	defer p.mu.Unlock()
	if id == p.id {
		return nil
	}
	now := time.Now()
	p.data, p.id, p.since = data, id, now
	for _, s := range p.subs {
		if s.behind.IsZero() {
			s.behind = now
		}
	}
	close(p.changed)
	p.changed = make(chan struct{})
	return nil
}

// Current returns the JSON of the current configuration, nil before the
// first Publish. The caller must not modify it.
func (p *Publisher) Current() []byte {
	data, _, _ := p.current()
	return data
}

func (p *Publisher) current() ([]byte, string, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.data, p.id, p.changed
}

// Applied records that subscriber sub has applied configuration id. An
// unknown subscriber (not streaming now) is ignored.
func (p *Publisher) Applied(sub, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.subs[sub]; ok {
		if s.applied != id {
			p.markLocked(sub)
		}
		s.applied = id
		if id == p.id {
			s.behind = time.Time{}
		}
	}
}

// Delivered reports whether the current configuration is in force at every
// connected subscriber that reports what it applies, except those that have
// been behind for AckWait or longer (a stuck gateway does not stop the
// platform; it is the gateway's operators' alarm). It is what lets the gray plan controller
// remove a version's pods only once no gateway routes to them. With a
// Ledger (Share) the subscribers of the other replicas count too: those
// seen within LedgerLive, until AckWait after the configuration became
// current here.
func (p *Publisher) Delivered() bool {
	p.mu.Lock()
	if p.id == "" {
		p.mu.Unlock()
		return true
	}
	for _, s := range p.subs {
		if s.applied != p.id && time.Since(s.behind) < p.AckWait {
			p.mu.Unlock()
			return false
		}
	}
	l, replica, id, since := p.ledger, p.replica, p.id, p.since
	p.mu.Unlock()
	return p.othersDelivered(l, replica, id, since)
}

// subscribe counts one more stream of sub; the returned function ends it.
func (p *Publisher) subscribe(sub string) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.subs[sub]
	if !ok {
		if len(p.subs) >= MaxSubscribers {
			return func() {}
		}
		s = &subscription{behind: time.Now()}
		p.subs[sub] = s
		p.markLocked(sub)
	}
	s.streams++
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if s.streams--; s.streams == 0 {
			delete(p.subs, sub)
			p.markLocked(sub)
		}
	}
}

// ServeHTTP streams configurations until the client goes away; a POST
// (to URL+"/applied" when mounted alone) is a subscriber's AppliedReport.
func (p *Publisher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var v AppliedReport
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&v); err != nil {
			http.Error(w, "bad applied report", http.StatusBadRequest)
			return
		}
		p.Applied(v.Subscriber, v.ID)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if sub := r.Header.Get(SubscriberHeader); sub != "" && len(sub) <= 64 {
		defer p.subscribe(sub)()
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	tick := time.NewTicker(p.Heartbeat)
	defer tick.Stop()
	sent := r.Header.Get("Last-Event-ID")
	for {
		data, id, changed := p.current()
		if id != "" && id != sent {
			if _, err := fmt.Fprintf(w, "event: config\nid: %s\ndata: %s\n\n", id, data); err != nil {
				return
			}
			sent = id
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-tick.C:
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
		}
	}
}

// Subscriber follows a Publisher's stream and applies each configuration.
// While the server is away the gateway keeps its last good configuration;
// the subscriber reconnects with exponential backoff and jitter.
type Subscriber struct {
	URL    string
	Client *http.Client // no overall Timeout: the stream is long-lived
	// Apply receives each configuration decoded and validated; an error is
	// logged and the stream continues (the old configuration stays).
	Apply func(Config) error
	Log   *slog.Logger
	// MinBackoff and MaxBackoff bound reconnect delays (defaults 200ms, 30s).
	MinBackoff, MaxBackoff time.Duration
	// Idle is how long without any byte (event or ping) before the stream is
	// considered dead. Default 45s (three heartbeats).
	Idle time.Duration
	// ID names this subscriber to the server, which then waits for it to
	// report each configuration applied (POST URL+"/applied") before it
	// removes what an older configuration routed to. Empty: a random ID.
	ID string
}

// AppliedReport is the body a subscriber posts to report a configuration
// applied.
type AppliedReport struct {
	Subscriber string `json:"subscriber"`
	ID         string `json:"id"`
}

// Run follows the stream until ctx is done, then returns nil.
func (s *Subscriber) Run(ctx context.Context) error {
	if s.ID == "" {
		b := make([]byte, 12)
		_, _ = crand.Read(b)
		s.ID = hex.EncodeToString(b)
	}
	minB, maxB := orDefault(s.MinBackoff, 200*time.Millisecond), orDefault(s.MaxBackoff, 30*time.Second)
	backoff := minB
	lastID := ""
	for {
		got, err := s.stream(ctx, &lastID)
		if ctx.Err() != nil {
			return nil
		}
		if got {
			backoff = minB
		}
		s.Log.Warn("configuration stream lost, keeping the last good configuration", "url", s.URL, "err", errString(err), "retry_in", backoff.String())
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxB)
	}
}

func errString(err error) string {
	if err == nil {
		return "stream ended"
	}
	return err.Error()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// stream runs one connection; got reports whether any event arrived.
func (s *Subscriber) stream(ctx context.Context, lastID *string) (got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return false, fmt.Errorf("config stream request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if s.ID != "" {
		req.Header.Set(SubscriberHeader, s.ID)
	}
	if *lastID != "" {
		req.Header.Set("Last-Event-ID", *lastID)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("config stream: status %d", resp.StatusCode)
	}
	s.Log.Info("configuration stream connected", "url", s.URL)
	idle := time.AfterFunc(orDefault(s.Idle, 45*time.Second), cancel)
	defer idle.Stop()
	// Reports go out on the side, newest first: a slow answer never holds
	// back the next configuration, and a report still waiting to be sent
	// is replaced by a newer one (the server only needs the latest).
	reports := make(chan string, 1)
	go s.reporter(ctx, reports)
	err = ReadEvents(resp.Body, func() { idle.Reset(orDefault(s.Idle, 45*time.Second)) }, func(ev Event) {
		if ev.Name != "config" {
			return
		}
		got = true
		cfg, err := decodeStreamed([]byte(ev.Data))
		if err == nil {
			err = s.Apply(cfg)
		}
		if err != nil {
			s.Log.Error("configuration from server rejected, keeping the last good one", "id", ev.ID, "err", err.Error())
			return
		}
		*lastID = ev.ID
		offerLatest(reports, ev.ID)
	})
	return got, err
}

// reporter reports each id it receives until ctx ends.
func (s *Subscriber) reporter(ctx context.Context, ids <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-ids:
			s.report(ctx, id)
		}
	}
}

// offerLatest puts id in the one-slot ch, replacing what waits there
// (ch has one sender).
func offerLatest(ch chan string, id string) {
	for {
		select {
		case ch <- id:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// report tells the server that configuration id is in force here. A
// failure is logged: the server stops waiting after its AckWait.
func (s *Subscriber) report(ctx context.Context, id string) {
	if s.ID == "" {
		return
	}
	body, _ := json.Marshal(AppliedReport{Subscriber: s.ID, ID: id})
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.URL, "/")+"/applied", bytes.NewReader(body))
	if err != nil {
		s.Log.Warn("report configuration applied", "id", id, "err", err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client.Do(req)
	if err != nil {
		s.Log.Warn("report configuration applied", "id", id, "err", err.Error())
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		s.Log.Warn("report configuration applied", "id", id, "status", resp.StatusCode)
	}
}

// Event is one Server-Sent Event.
type Event struct {
	Name, ID, Data string
}

// MaxEventBytes bounds one event of the stream.
const MaxEventBytes = MaxConfigBytes + 4096

// ReadEvents parses a text/event-stream from r, calling onLine for every
// line read (liveness) and onEvent for every complete event. It returns
// at the end of r or at the first error; an event larger than MaxEventBytes
// is an error.
func ReadEvents(r io.Reader, onLine func(), onEvent func(Event)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var ev Event
	var data strings.Builder
	size := 0
	for {
		line, err := readLine(br, MaxEventBytes-size)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		onLine()
		size += len(line)
		if line == "" {
			if data.Len() > 0 || ev.Name != "" {
				ev.Data = strings.TrimSuffix(data.String(), "\n")
				onEvent(ev)
			}
			ev, size = Event{}, 0
			data.Reset()
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Name = value
		case "id":
			ev.ID = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		}
	}
}

var errEventTooLarge = errors.New("event too large")

// readLine reads one line without its terminator (LF or CRLF), at most max
// bytes.
func readLine(br *bufio.Reader, max int) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(b)+len(chunk) > max {
			return "", errEventTooLarge
		}
		b = append(b, chunk...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(b) == 0 || !errors.Is(err, io.EOF) {
			return "", err
		}
		break
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
