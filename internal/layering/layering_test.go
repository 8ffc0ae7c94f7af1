package layering

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "berth.dev/berth"

var berth = checker{module: module + "/", layers: layers, groups: groups, exceptions: exceptions}

// listPackages returns every package of the module and every package they
// reach, as go list -deps describes them.
func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Deps", module+"/...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	own := 0
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.ImportPath, module+"/") {
			own++
		}
		pkgs = append(pkgs, p)
	}
	if own < 50 {
		t.Fatalf("go list found only %d packages of %s; is the module path right?", own, module)
	}
	return pkgs
}

func TestPackagesImportOnlyWhatTheirLayerMay(t *testing.T) {
	t.Parallel()
	for _, b := range berth.check(listPackages(t)) {
		t.Error(b)
	}
}

// TestDocumentStatesTheseLayers keeps docs/architecture.md's "Layers"
// section the same statement as the table the checks use.
func TestDocumentStatesTheseLayers(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docLayers, docExceptions, err := parseLayers(f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(layers, docLayers, cmp.AllowUnexported(layer{})); diff != "" {
		t.Errorf("docs/architecture.md's layers table differs from the checked one (-checked +doc):\n%s\nthe checked table reads:\n%s",
			diff, renderLayers(layers))
	}
	if diff := cmp.Diff(exceptions, docExceptions, cmp.AllowUnexported(exception{})); diff != "" {
		t.Errorf("docs/architecture.md's exceptions differ from the checked ones (-checked +doc):\n%s\nthe checked table reads:\n%s",
			diff, renderExceptions(exceptions))
	}
}

// parseLayers reads the first two tables of the "## Layers" section of a
// Markdown document: the layers and the exceptions. Cells list items
// separated by commas; backticks are dropped and "—" is no item.
func parseLayers(r io.Reader) ([]layer, []exception, error) {
	var tables [][][]string
	in, inTable := false, false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## Layers")
			continue
		}
		if !in {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		if !inTable {
			tables = append(tables, nil)
			inTable = true
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(strings.ReplaceAll(cells[i], "`", ""))
		}
		tables[len(tables)-1] = append(tables[len(tables)-1], cells)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if len(tables) != 2 {
		return nil, nil, errors.New(`want two tables in the "## Layers" section: the layers and the exceptions`)
	}
	var ls []layer
	for _, row := range body(tables[0]) {
		if len(row) != 4 {
			return nil, nil, errors.New("want four cells in a layers row: " + strings.Join(row, " | "))
		}
		ls = append(ls, layer{name: row[0], packages: items(row[1]), mayImport: items(row[2]), neverReaches: items(row[3])})
	}
	var xs []exception
	for _, row := range body(tables[1]) {
		if len(row) != 3 {
			return nil, nil, errors.New("want three cells in an exceptions row: " + strings.Join(row, " | "))
		}
		xs = append(xs, exception{pkg: row[0], may: row[1], why: row[2]})
	}
	return ls, xs, nil
}

// body drops a table's header and separator rows.
func body(rows [][]string) [][]string {
	if len(rows) < 2 {
		return nil
	}
	return rows[2:]
}

func items(cell string) []string {
	if cell == "" || cell == "—" {
		return nil
	}
	var out []string
	for it := range strings.SplitSeq(cell, ",") {
		out = append(out, strings.TrimSpace(it))
	}
	return out
}

// renderLayers writes ls as the Markdown table the document holds.
func renderLayers(ls []layer) string {
	var b strings.Builder
	b.WriteString("| layer | packages | may import | never reaches |\n|---|---|---|---|\n")
	for _, l := range ls {
		b.WriteString("| " + l.name + " | " + cell(l.packages, true) + " | " + cell(l.mayImport, false) + " | " +
			cell(l.neverReaches, false) + " |\n")
	}
	return b.String()
}

func renderExceptions(xs []exception) string {
	var b strings.Builder
	b.WriteString("| package | may also import | why |\n|---|---|---|\n")
	for _, x := range xs {
		b.WriteString("| `" + x.pkg + "` | " + cell([]string{x.may}, false) + " | " + x.why + " |\n")
	}
	return b.String()
}

// cell joins names; packages are quoted as code, and so are group names
// that read as package paths (net/http, client-go); layer names are not.
func cell(names []string, code bool) string {
	if len(names) == 0 {
		return "—"
	}
	out := make([]string, len(names))
	for i, n := range names {
		if code || strings.ContainsAny(n, "/-") {
			n = "`" + n + "`"
		}
		out[i] = n
	}
	return strings.Join(out, ", ")
}
