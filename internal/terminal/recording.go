package terminal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Recorder writes a session as asciicast v2
// (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then
// one [time, "o"|"i", data] event per line. Every write error is returned
// and sticks: a session whose recording fails must stop.
type Recorder struct {
	w     io.Writer
	start time.Time
	err   error
}

// Header is the first line of an asciicast v2 recording.
type Header struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// NewRecorder writes the header to w and returns a recorder whose event
// times count from start.
func NewRecorder(w io.Writer, start time.Time, title string, width, height int) (*Recorder, error) {
	r := &Recorder{w: w, start: start}
	r.line(Header{Version: 2, Width: width, Height: height, Timestamp: start.Unix(), Title: title, Env: map[string]string{"TERM": "xterm-256color"}})
	return r, r.err
}

// Output records data the terminal showed at time at.
func (r *Recorder) Output(at time.Time, data string) error { return r.event(at, "o", data) }

// Input records a line the user submitted at time at.
func (r *Recorder) Input(at time.Time, data string) error { return r.event(at, "i", data) }

// Err is the first write error.
func (r *Recorder) Err() error { return r.err }

func (r *Recorder) event(at time.Time, kind, data string) error {
	secs := float64(at.Sub(r.start).Microseconds()) / 1e6
	r.line([]any{secs, kind, data})
	return r.err
}

func (r *Recorder) line(v any) {
	if r.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		r.err = fmt.Errorf("encode recording event: %w", err)
		return
	}
	if _, err := r.w.Write(append(b, '\n')); err != nil {
		r.err = fmt.Errorf("write recording: %w", err)
	}
}

// Event is one event of a recording.
type Event struct {
	Time float64
	Kind string
	Data string
}

// MaxRecordingLine bounds one line of a recording read back.
const MaxRecordingLine = 4 << 20

// ReadRecording parses an asciicast v2 recording.
func ReadRecording(rd io.Reader) (Header, []Event, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), MaxRecordingLine)
	var h Header
	if !sc.Scan() {
		return h, nil, errors.New("recording: no header")
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Version != 2 {
		return h, nil, fmt.Errorf("recording: not an asciicast v2 header: %v", err)
	}
	var evs []Event
	for n := 2; sc.Scan(); n++ {
		var raw []json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil || len(raw) != 3 {
			return h, nil, fmt.Errorf("recording line %d: not an event", n)
		}
		var e Event
		if json.Unmarshal(raw[0], &e.Time) != nil || json.Unmarshal(raw[1], &e.Kind) != nil || json.Unmarshal(raw[2], &e.Data) != nil {
			return h, nil, fmt.Errorf("recording line %d: not an event", n)
		}
		evs = append(evs, e)
	}
	return h, evs, sc.Err()
}

// Replay returns what the terminal showed: the output events' data in
// order.
func Replay(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Kind == "o" {
			b.WriteString(e.Data)
		}
	}
	return b.String()
}

// Lines returns the input events' data in order.
func Lines(evs []Event) []string {
	var out []string
	for _, e := range evs {
		if e.Kind == "i" {
			out = append(out, strings.TrimSuffix(e.Data, "\n"))
		}
	}
	return out
}
