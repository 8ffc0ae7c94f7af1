package client

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// List follows `continue` until the server stops giving one, asking for a
// bounded page each time, and keeps the server's order.
func TestListReadsEveryPage(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"":   `{"items":[{"name":"a"},{"name":"b"}],"continue":"p2"}`,
		"p2": `{"items":[{"name":"c"}],"continue":"p3"}`,
		"p3": `{"items":[{"name":"d"}]}`,
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.RawQuery)
		if r.URL.Path != "/api/v1/tenants" || r.URL.Query().Get("limit") != "500" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, pages[r.URL.Query().Get("continue")])
	}))
	defer srv.Close()
	items, err := List[map[string]any](t.Context(), New(srv.URL, ""), "/tenants")
	if err != nil {
		t.Fatal(err)
	}
	var names []any
	for _, it := range items {
		names = append(names, it["name"])
	}
	if fmt.Sprint(names) != "[a b c d]" {
		t.Errorf("items %v, want [a b c d]; asked %q", names, asked)
	}
	if len(asked) != 3 {
		t.Errorf("asked %d pages, want 3: %q", len(asked), asked)
	}
}
