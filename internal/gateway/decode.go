package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"berth.dev/berth/internal/resource"
)

// MaxConfigBytes bounds a configuration document.
const MaxConfigBytes = 8 << 20

// ValidationError lists every invalid field of a configuration, each named
// by its path (e.g. "routes[2].policy.rateLimit.burst").
type ValidationError struct {
	Fields []*resource.FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return "invalid gateway configuration: " + strings.Join(msgs, "; ")
}

// Decode parses a YAML or JSON configuration strictly: unknown fields and
// values of the wrong type are errors naming their path, and the result is
// validated. Every problem is reported at once in a *ValidationError.
func Decode(data []byte) (Config, error) {
	var cfg Config
	if len(data) > MaxConfigBytes {
		return cfg, fmt.Errorf("configuration is %d bytes, more than %d", len(data), MaxConfigBytes)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return cfg, fmt.Errorf("parse configuration: %w", err)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return cfg, fmt.Errorf("parse configuration: %w", err)
	}
	if doc == nil {
		return cfg, &ValidationError{Fields: []*resource.FieldError{{Path: "(root)", Reason: "empty configuration"}}}
	}
	if fields := checkShape("", doc, reflect.TypeFor[Config]()); len(fields) > 0 {
		return cfg, &ValidationError{Fields: fields}
	}
	if err := json.Unmarshal(js, &cfg); err != nil {
		return cfg, fmt.Errorf("decode configuration: %w", err)
	}
	return cfg, cfg.Validate()
}

// decodeStreamed decodes a configuration the server streamed: JSON that
// json.Marshal wrote from a validated Config, so it is decoded in one pass
// (unknown fields are still refused) and validated, without the field
// paths Decode finds for a person's file, at a tenth of Decode's cost.
func decodeStreamed(data []byte) (Config, error) {
	var cfg Config
	if len(data) > MaxConfigBytes {
		return cfg, fmt.Errorf("configuration is %d bytes, more than %d", len(data), MaxConfigBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("decode configuration: %w", err)
	}
	return cfg, cfg.Validate()
}

var durationType = reflect.TypeFor[resource.Duration]()

// checkShape walks a decoded JSON value against the Go type it will be
// decoded into and reports unknown fields and type mismatches with paths.
func checkShape(path string, v any, t reflect.Type) []*resource.FieldError {
	if t.Kind() == reflect.Pointer {
		if v == nil {
			return nil
		}
		t = t.Elem()
	}
	bad := func(format string, args ...any) []*resource.FieldError {
		return []*resource.FieldError{{Path: orRoot(path), Reason: fmt.Sprintf(format, args...)}}
	}
	if t == durationType {
		s, ok := v.(string)
		if !ok {
			return bad("want a duration string such as \"1.5s\", got %s", jsonKind(v))
		}
		if _, err := time.ParseDuration(s); err != nil {
			return bad("want a duration such as \"1.5s\", got %q", s)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return checkObject(path, v, t)
	case reflect.Slice:
		if v == nil {
			return nil
		}
		arr, ok := v.([]any)
		if !ok {
			return bad("want a list, got %s", jsonKind(v))
		}
		var errs []*resource.FieldError
		for i, e := range arr {
			errs = append(errs, checkShape(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())...)
		}
		return errs
	case reflect.String:
		if _, ok := v.(string); !ok {
			return bad("want a string, got %s", jsonKind(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad("want true or false, got %s", jsonKind(v))
		}
	case reflect.Int, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return bad("want an integer, got %s", jsonKind(v))
		}
		if _, err := n.Int64(); err != nil {
			return bad("want an integer, got %s", n)
		}
	case reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			return bad("want a number, got %s", jsonKind(v))
		}
		if _, err := n.Float64(); err != nil {
			return bad("want a number, got %s", n)
		}
	}
	return nil
}

func checkObject(path string, v any, t reflect.Type) []*resource.FieldError {
	if v == nil {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []*resource.FieldError{{Path: orRoot(path), Reason: "want an object, got " + jsonKind(v)}}
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	var errs []*resource.FieldError
	for _, k := range slices.Sorted(mapKeys(obj)) {
		p := k
		if path != "" {
			p = path + "." + k
		}
		ft, ok := fields[k]
		if !ok {
			errs = append(errs, &resource.FieldError{Path: p, Reason: "unknown field"})
			continue
		}
		errs = append(errs, checkShape(p, obj[k], ft)...)
	}
	return errs
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return path
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// asValidation returns err's field errors, or nil if it is not a
// *ValidationError.
func asValidation(err error) []*resource.FieldError {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Fields
	}
	return nil
}
