package manifest

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"berth.dev/berth/internal/resource"
)

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessage      = reflect.TypeFor[json.RawMessage]()
)

// CheckJSON walks the JSON document data against type t as manifests are
// checked and returns a *resource.ValidationError naming, at its path,
// every field t does not have, every value of the wrong kind and every
// value its own type refuses (a malformed quantity at "hard.cpu"); nil when
// it finds none, and the decoder's error when data is not JSON. It keeps
// nothing of data.
func CheckJSON(data []byte, t reflect.Type) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	var errs resource.Errors
	check(&errs, "", v, t)
	return errs.Err()
}

// check walks v, a value decoded from JSON with UseNumber, against type t
// and records at its path every field t does not have, every value of the
// wrong kind and every negative number. Types that decode themselves
// (quantities, times) are left to their own UnmarshalJSON.
func check(errs *resource.Errors, path string, v any, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil || t == rawMessage || t.Kind() == reflect.Interface {
		return
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		checkSelfDecoding(errs, path, v, t)
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		s, ok := v.(string)
		if !ok {
			errs.Add(path, "must be a string")
			return
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			errs.Add(path, "%s", err.Error())
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			errs.Add(path, "must be an object")
			return
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(m) {
			f, ok := fields[k]
			if !ok {
				errs.Add(join(path, k), "unknown field")
				continue
			}
			check(errs, join(path, k), m[k], f)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			errs.Add(path, "must be an object")
			return
		}
		for _, k := range sortedKeys(m) {
			check(errs, join(path, k), m[k], t.Elem())
		}
	case reflect.Slice, reflect.Array:
		s, ok := v.([]any)
		if !ok {
			errs.Add(path, "must be a list")
			return
		}
		for i, e := range s {
			check(errs, path+"["+strconv.Itoa(i)+"]", e, t.Elem())
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			errs.Add(path, "must be a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			errs.Add(path, "must be true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			errs.Add(path, "must be a whole number")
			return
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		switch {
		case err != nil:
			errs.Add(path, "must be a whole number, got %s", n)
		case i < 0:
			errs.Add(path, "must not be negative, got %d", i)
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			errs.Add(path, "must be a number")
			return
		}
		if f, err := n.Float64(); err == nil && f < 0 {
			errs.Add(path, "must not be negative, got %s", n)
		}
	}
}

// jsonFields maps the JSON names of t's fields (embedded structs flattened)
// to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkSelfDecoding decodes v with t's own UnmarshalJSON so its error (a
// malformed quantity, say) is reported at its path.
func checkSelfDecoding(errs *resource.Errors, path string, v any, t reflect.Type) {
	b, err := json.Marshal(v)
	if err != nil {
		errs.Add(path, "%s", err.Error())
		return
	}
	if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
		errs.Add(path, "%s", err.Error())
	}
}
