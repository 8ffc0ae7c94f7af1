package console

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedAPITypesMatchTheOpenAPIDocument regenerates the console's API
// types from the OpenAPI golden (which internal/api proves equal to the
// served document) and fails when the committed web/src/api/schema.d.ts
// differs: run `npm run gen:api` in web/ after changing the API.
func TestGeneratedAPITypesMatchTheOpenAPIDocument(t *testing.T) {
	web, err := filepath.Abs("../../../../web")
	if err != nil {
		t.Fatal(err)
	}
	need(t, filepath.Join(web, "node_modules", "openapi-typescript"), "the console's npm packages: run `make web` (npm ci)")
	out := filepath.Join(t.TempDir(), "schema.d.ts")
	cmd := exec.CommandContext(t.Context(), "npx", "openapi-typescript", "../internal/api/testdata/openapi.json", "-o", out)
	cmd.Dir = web
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openapi-typescript: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join(web, "src", "api", "schema.d.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if string(fresh) != string(committed) {
		t.Errorf("web/src/api/schema.d.ts is not what the OpenAPI document generates: run `npm run gen:api` in web/ (%d bytes committed, %d generated)", len(committed), len(fresh))
	}
}
