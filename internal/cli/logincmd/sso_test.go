package logincmd

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestLoopbackCallbackTakesOneCode: a stray request (a favicon, a visit
// without a code) changes nothing; the first code is handed on and the
// browser told it may close the page; a second is refused.
func TestLoopbackCallbackTakesOneCode(t *testing.T) {
	codes := make(chan string, 1)
	h := callback(codes)
	for _, tc := range []struct {
		target string
		status int
	}{
		{"/favicon.ico", http.StatusBadRequest},
		{"/callback", http.StatusBadRequest},
		{"/callback?code=first", http.StatusOK},
		{"/callback?code=second", http.StatusConflict},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.target, nil))
		if rec.Code != tc.status {
			t.Errorf("GET %s = %d, want %d", tc.target, rec.Code, tc.status)
		}
	}
	if got := <-codes; got != "first" {
		t.Fatalf("code handed on = %q, want first", got)
	}
}
