package kind

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"
)

// Formats are the -o values of get and describe.
var Formats = []string{"table", "json", "yaml"}

// Print writes objects (decoded JSON) in format. Table prints k's columns;
// json and yaml print a list as an array and a single object as itself.
func Print(w io.Writer, k Kind, format string, objs []map[string]any, single bool) error {
	var v any = objs
	if single && len(objs) == 1 {
		v = objs[0]
	}
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(data)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	case "table", "":
		if k.Single {
			objs = usageRows(objs)
		}
		return table(w, k.Columns, objs)
	}
	return fmt.Errorf("unknown output format %q; want one of %s", format, strings.Join(Formats, ", "))
}

func table(w io.Writer, cols []Column, objs []map[string]any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	var hs []string
	for _, c := range cols {
		hs = append(hs, c.Header)
	}
	fmt.Fprintln(tw, strings.Join(hs, "\t"))
	for _, o := range objs {
		var cells []string
		for _, c := range cols {
			cells = append(cells, Cell(Field(o, c.Field)))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// usageRows turns a quota usage object into one row per resource.
func usageRows(objs []map[string]any) []map[string]any {
	var rows []map[string]any
	for _, o := range objs {
		used, _ := o["used"].(map[string]any)
		hard, _ := o["hard"].(map[string]any)
		var names []string
		for n := range used {
			names = append(names, n)
		}
		for n := range hard {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			h := hard[n]
			if h == nil {
				h = "unlimited"
			}
			u := used[n]
			if u == nil {
				u = "0"
			}
			rows = append(rows, map[string]any{"resource": n, "used": u, "hard": h})
		}
	}
	return rows
}

// Field returns the value at a dotted path of o, or nil.
func Field(o map[string]any, path string) any {
	var v any = o
	for part := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// Cell formats a value for a table: times in local minutes, empty as "-".
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case string:
		if x == "" {
			return "-"
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04")
		}
		return x
	case float64:
		return fmt.Sprint(x)
	case bool:
		return fmt.Sprint(x)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, Cell(e))
		}
		return strings.Join(parts, ",")
	}
	data, _ := json.Marshal(v)
	return string(data)
}
