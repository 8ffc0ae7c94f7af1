package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"berth.dev/berth/internal/authz"
	"berth.dev/berth/internal/i18n"
	"berth.dev/berth/internal/live"
)

// DefaultHeartbeat is how often an idle live event stream sends a comment
// and re-checks the caller's session or token.
const DefaultHeartbeat = 15 * time.Second

// maxEventID bounds the Last-Event-ID a client sends back; a longer one is
// not one of ours and resets the stream.
const maxEventID = 64

func (a *API) registerEvents() {
	a.route(Route{Method: "GET", Path: "/events", Response: "LiveEvents", Query: []string{"topics", "lastEventId"},
		Summary: "The live event stream of the console (server-sent events): one stream per browser tab carrying the " +
			"topics asked for (deployments, releases, grayplans, network, audit, configs; default all), each event only to " +
			"callers who may read its object; resumes after Last-Event-ID or answers event reset"}, a.events)
}

// events serves the live event stream until the client goes away, the
// caller's session or token ends (checked at each heartbeat), or the
// server stops.
func (a *API) events(w http.ResponseWriter, r *http.Request) error {
	decide(r) // every event is filtered by the caller's bindings below
	topics, err := live.ParseTopics("topics", r.URL.Query().Get("topics"))
	if err != nil {
		return err
	}
	if a.hub == nil {
		return errNotFound
	}
	p := principalOf(r)
	s, err := a.hub.Open(p.user.Name, topics, allowFor(p.bindings), lastEventID(r))
	if err != nil {
		return streamRefused(err)
	}
	defer s.Close()
	rc := startEventStream(w)
	if _, err := io.WriteString(w, "retry: 3000\n\n"); err != nil || rc.Flush() != nil {
		return nil
	}
	a.follow(w, rc, r, s)
	return nil
}

// follow writes what s queues, and a heartbeat whenever a.heartbeat passes,
// until the client goes away or the caller's credentials end.
func (a *API) follow(w io.Writer, rc *http.ResponseController, r *http.Request, s *live.Stream) {
	tick := time.NewTicker(a.heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.Done():
			return
		case <-tick.C:
			read := time.Now()
			p, err := a.authenticate(r)
			if err != nil {
				return // logged out, expired or revoked: the stream ends
			}
			s.SetFilter(allowFor(p.bindings))
			// The heartbeat says when the bindings now in force were
			// read (Unix nanoseconds): a client that changed them can
			// tell a heartbeat after its change from one still in transit.
			if _, err := fmt.Fprintf(w, ": ping %d\n\n", read.UnixNano()); err != nil {
				return
			}
		case <-s.Ready():
			resetID, evs := s.Take()
			if writeEvents(w, resetID, evs) != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// writeEvents writes a reset (when resetID is set) and then evs.
func writeEvents(w io.Writer, resetID string, evs []live.Event) error {
	if resetID != "" {
		if _, err := fmt.Fprintf(w, "id: %s\nevent: reset\ndata: {}\n\n", resetID); err != nil {
			return err
		}
	}
	for _, e := range evs {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Topic, data); err != nil {
			return err
		}
	}
	return nil
}

// allowFor is the filter of a caller with bindings: the permission of
// reading each event's object at its scope. It keeps bindings.
func allowFor(bindings []authz.Binding) func(live.Event) bool {
	return func(e live.Event) bool { return live.Allowed(bindings, e) }
}

// lastEventID is the ID the client resumes after: the Last-Event-ID header
// browsers send on reconnecting, or the lastEventId query parameter.
func lastEventID(r *http.Request) string {
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		id = r.URL.Query().Get("lastEventId")
	}
	if len(id) > maxEventID {
		return "-" // not ours: the stream starts with a reset
	}
	return id
}

// streamRefused maps the hub's bounds to answers.
func streamRefused(err error) error {
	switch {
	case errors.Is(err, live.ErrTooManyStreams):
		return &httpError{status: http.StatusTooManyRequests, code: i18n.TooManyStreams, cause: err, retryAfter: 5 * time.Second}
	case errors.Is(err, live.ErrFull), errors.Is(err, live.ErrClosed):
		return &httpError{status: http.StatusServiceUnavailable, code: i18n.StreamsFull, cause: err, retryAfter: 5 * time.Second}
	}
	return err
}

// startEventStream answers 200 as a stream of server-sent events (not
// cached, not buffered by a reverse proxy, outliving any write timeout)
// and returns the controller that flushes it.
func startEventStream(w http.ResponseWriter) *http.ResponseController {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return rc
}

// sendEvent writes v as one server-sent event of type event, and flushes.
func sendEvent(w io.Writer, rc *http.ResponseController, event string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
		return err
	}
	return rc.Flush()
}
