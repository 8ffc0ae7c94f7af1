package gateway

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Subscriber follows a Publisher's stream and applies each configuration.
// While the server is away the gateway keeps its last good configuration;
// the subscriber reconnects with exponential backoff and jitter.
type Subscriber struct {
	URL    string
	Client *http.Client // no overall Timeout: the stream is long-lived
	// Gateway, when set, is fed by changes (stream version 2, ADR 0022): a
	// snapshot on connect, then the units each publication changes. A
	// change that does not apply to what the gateway has (a gap), or that
	// it rejects, leaves the last good configuration in force and ends
	// the stream; the next connection asks for a snapshot.
	Gateway *Gateway
	// Apply, without Gateway, receives each whole configuration decoded
	// and validated (stream version 1, as gateways before ADR 0022 speak
	// it); an error is logged and the stream continues (the old
	// configuration stays). From a server that speaks only version 1, a
	// Gateway is loaded this way too.
	Apply func(Config) error
	// Applied, if set, is told the ID of each configuration put in force.
	Applied func(id string)
	Log     *slog.Logger
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

// errResync ends a stream whose change was not applied; the next
// connection asks for the whole configuration.
var errResync = errors.New("a configuration change was not applied: asking for the whole configuration")

// stream runs one connection; got reports whether any configuration was
// put in force. After a change it could not apply it clears *lastID, so
// that the next connection gets a snapshot rather than the same deltas.
func (s *Subscriber) stream(ctx context.Context, lastID *string) (got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return false, fmt.Errorf("config stream request: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if s.Gateway != nil {
		req.Header.Set(StreamHeader, "2")
	}
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
	s.Log.Info("configuration stream connected", "url", s.URL, "version", cmp.Or(resp.Header.Get(StreamHeader), "1"))
	idle := time.AfterFunc(orDefault(s.Idle, 45*time.Second), cancel)
	defer idle.Stop()
	// Reports go out on the side, newest first: a slow answer never holds
	// back the next configuration, and a report still waiting to be sent
	// is replaced by a newer one (the server only needs the latest).
	reports := make(chan string, 1)
	go s.reporter(ctx, reports)
	resync := false
	err = ReadEvents(resp.Body, func() { idle.Reset(orDefault(s.Idle, 45*time.Second)) }, func(ev Event) {
		if resync {
			return
		}
		change, err := s.apply(ev)
		switch {
		case err != nil && change:
			s.Log.Error("configuration change from server not applied, keeping the last good configuration and asking for the whole one",
				"id", ev.ID, "err", err.Error())
			resync = true
			*lastID = ""
			cancel()
			return
		case err != nil:
			s.Log.Error("configuration from server rejected, keeping the last good one", "id", ev.ID, "err", err.Error())
			return
		case ev.Name != "config" && ev.Name != "snapshot" && ev.Name != "delta":
			return
		}
		got = true
		*lastID = ev.ID
		if s.Applied != nil {
			s.Applied(ev.ID)
		}
		offerLatest(reports, ev.ID)
	})
	if resync {
		return got, errResync
	}
	return got, err
}

// apply puts the configuration of ev in force; change reports an event of
// stream version 2, whose failure calls for a snapshot. Other events are
// ignored.
func (s *Subscriber) apply(ev Event) (change bool, err error) {
	switch ev.Name {
	case "config":
		cfg, err := decodeStreamed([]byte(ev.Data))
		if err != nil {
			return false, err
		}
		if s.Gateway != nil {
			_, err = s.Gateway.Load(cfg)
			return false, err
		}
		return false, s.Apply(cfg)
	case "snapshot", "delta":
		if s.Gateway == nil {
			return false, nil
		}
		u, err := decodeUpdate(ev)
		if err == nil {
			err = s.Gateway.update(u)
		}
		return true, err
	}
	return false, nil
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
