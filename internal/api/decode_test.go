package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"berth.dev/berth/internal/api/apitypes"
)

// FuzzDecode feeds request bodies to the strict JSON decoder: whatever
// comes in, a refusal is a client error, never an internal one.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"username":"admin","password":"x","token":{"name":"cli","ttl":"1h"}}`))
	f.Add([]byte(`{"username":1}`))
	f.Add([]byte(`{"usernam":"a"}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Body = http.MaxBytesReader(rec, r.Body, 1024)
		var req apitypes.LoginRequest
		err := decode(r, &req)
		if err == nil {
			return
		}
		if status, _, _ := classify(err); status >= 500 {
			t.Fatalf("decode(%q) = %v, classified %d", body, err, status)
		}
	})
}
