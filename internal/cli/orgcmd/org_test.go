package orgcmd

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"berth.dev/berth/internal/cli"
)

// A file over the import limit (8 MiB, the server's too) is refused by name
// before anything is sent, not cut at some other size and sent in part.
func TestImportRefusesAFileOverTheLimitBeforeSending(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{"items":[]}`)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("level,code,name,parent\n")
	for i := 0; b.Len() <= 8<<20; i++ { // valid lines, fewer than 100000 units
		fmt.Fprintf(&b, "region,R%06d,Region %06d of a bank whose regions have long names for the sake of this test,\n", i, i)
	}
	file := filepath.Join(dir, "org.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BERTH_CONFIG": filepath.Join(dir, "config.yaml"), "BERTH_SERVER": srv.URL, "BERTH_TOKEN": "t"}
	var out bytes.Buffer
	cmd := New(cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out, Getenv: func(k string) string { return env[k] }})
	cmd.SetArgs([]string{"import", "-t", "bank", file})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "8388608") {
		t.Fatalf("import of %d bytes: %v, want an error naming the limit of 8388608 bytes", b.Len(), err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the server, want none", n)
	}
}
