package gateway_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"berth.dev/berth/internal/gateway"
)

func TestDecodeGoodFiles(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.good.yaml")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := gateway.Decode(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		// Round trip: what the server streams decodes to the same thing.
		js, _ := json.Marshal(cfg)
		again, err := gateway.Decode(js)
		if err != nil {
			t.Errorf("%s round trip: %v", f, err)
		}
		if diff := cmp.Diff(cfg, again); diff != "" {
			t.Errorf("%s round trip (-first +second):\n%s", f, diff)
		}
	}
}

// TestDecodeBadFiles checks that each testdata/*.bad.yaml is rejected with
// exactly the field errors of its .bad.want file, in order.
func TestDecodeBadFiles(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.bad.yaml")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".want")
		if err != nil {
			t.Fatal(err)
		}
		_, err = gateway.Decode(data)
		var ve *gateway.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: %v, want a *ValidationError", f, err)
			continue
		}
		var got []string
		for _, fe := range ve.Fields {
			got = append(got, fe.Error())
		}
		if diff := cmp.Diff(strings.Split(strings.TrimSpace(string(want)), "\n"), got); diff != "" {
			t.Errorf("%s errors (-want +got):\n%s", f, diff)
		}
	}
}

func TestDecodeRejectsEmptyAndNonYAML(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "null", "[", "routes: [", strings.Repeat("a", gateway.MaxConfigBytes+1)} {
		if _, err := gateway.Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%.20q) accepted it", in)
		}
	}
}

// FuzzDecode feeds arbitrary documents to the decoder: it must not panic,
// and whatever it accepts must be valid and survive a round trip.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Add([]byte(`{"routes":[{"name":"r","pathPrefix":"/","app":"a"}],"apps":[{"name":"a","stable":{"addresses":["h:1"]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := gateway.Decode(data)
		if err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Decode accepted an invalid configuration: %v", err)
		}
		js, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := gateway.Decode(js)
		if err != nil {
			t.Fatalf("round trip: %v\n%s", err, js)
		}
		if diff := cmp.Diff(cfg, again); diff != "" {
			t.Fatalf("round trip changed the configuration:\n%s", diff)
		}
	})
}

// FuzzReadEvents feeds arbitrary streams to the SSE parser: it must not
// panic, must respect the size bound, and must find the event of a
// well-formed prefix.
func FuzzReadEvents(f *testing.F) {
	f.Add("event: config\nid: 1\ndata: {}\n\n", "")
	f.Add(": ping\r\n\r\ndata: a\ndata: b\n\n", "event: x")
	f.Add("data", "\n\n\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		stream := "event: config\nid: first\ndata: {\"a\":1}\n\n" + a + b
		var events []gateway.Event
		err := gateway.ReadEvents(strings.NewReader(stream), func() {}, func(ev gateway.Event) {
			if len(ev.Data) > gateway.MaxEventBytes {
				t.Fatalf("event of %d bytes", len(ev.Data))
			}
			events = append(events, ev)
		})
		if err != nil {
			return
		}
		if len(events) == 0 || events[0] != (gateway.Event{Name: "config", ID: "first", Data: `{"a":1}`}) {
			t.Fatalf("first event = %+v", events)
		}
	})
}
