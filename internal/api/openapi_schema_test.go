package api

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"berth.dev/berth/internal/openapicheck"
	"berth.dev/berth/internal/store/storetest"
)

// TestOpenAPISchemasDescribeWhatTheirTypesEncode encodes each named schema's
// Go type twice, empty (nil slices, maps and pointers) and with every
// field, slice, map and pointer filled, and validates both against the
// schema of the served document: a field the schema leaves out, a type it
// gets wrong or a null it does not allow fails.
func TestOpenAPISchemasDescribeWhatTheirTypesEncode(t *testing.T) {
	t.Parallel()
	h := newHarness(t, storetest.SQLite(t))
	doc, err := openapicheck.Load(h.must(200, "", "GET", "/openapi.json", nil).body)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(schemaTypes))
	for name := range schemaTypes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		typ := schemaTypes[name]
		values := []reflect.Value{filled(typ, 0)}
		if typ.Kind() == reflect.Struct { // a whole answer is never null
			values = append(values, reflect.New(typ).Elem())
		}
		for _, v := range values {
			data, err := json.Marshal(v.Interface())
			if err != nil {
				t.Fatalf("encode a %s: %v", typ, err)
			}
			if err := doc.CheckSchema(name, data); err != nil {
				t.Errorf("schema %s does not describe its type %s: %v\nencoded: %s", name, typ, err, data)
			}
		}
	}
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// filled is a value of t with every exported field set, every slice and
// map holding one element and every pointer set, to depth 6; types that
// encode themselves keep their zero value.
func filled(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	if depth > 6 || t == reflect.TypeFor[time.Time]() {
		return v
	}
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return v
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		v.Set(filled(t.Elem(), depth+1).Addr())
	case reflect.Slice:
		v.Set(reflect.Append(reflect.MakeSlice(t, 0, 1), filled(t.Elem(), depth+1)))
	case reflect.Map:
		v.Set(reflect.MakeMap(t))
		v.SetMapIndex(filled(t.Key(), depth+1), filled(t.Elem(), depth+1))
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() {
				v.Field(i).Set(filled(f.Type, depth+1))
			}
		}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			v.Set(reflect.ValueOf("x"))
		}
	}
	return v
}
