package vastapi

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi/internal/colgen"
)

// TestColumnsGenIsFresh regenerates columns_gen.go in memory: a struct field added, renamed or
// retagged without `go generate ./internal/vastapi` fails here.
func TestColumnsGenIsFresh(t *testing.T) {
	want, err := colgen.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(colgen.Output)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go generate ./internal/vastapi", colgen.Output)
	}
	if !bytes.HasPrefix(got, []byte("// Code generated ")) || !bytes.Contains(got, []byte(" DO NOT EDIT.\n")) {
		t.Errorf("%s does not start with the standard generated-code line", colgen.Output)
	}
}

// Offer's column table follows the struct field by field, and every column that holds one value
// is a column a query can name: a field of a type the matcher cannot read would otherwise be
// left out of matching silently.
func TestEveryScalarOfferColumnIsMatchable(t *testing.T) {
	typ := reflect.TypeFor[Offer]()
	if len(offerColumns) != typ.NumField() {
		t.Fatalf("offerColumns has %d entries, Offer %d fields", len(offerColumns), typ.NumField())
	}
	var o Offer
	for i, c := range offerColumns {
		sf := typ.Field(i)
		if tag, _, _ := strings.Cut(sf.Tag.Get("json"), ","); tag != c.name {
			t.Errorf("column %d is %q, field %s is tagged %q", i, c.name, sf.Name, tag)
		}
		ptr := reflect.ValueOf(c.get).Call([]reflect.Value{reflect.ValueOf(&o)})[0]
		if ptr.Pointer() != reflect.ValueOf(&o).Elem().Field(i).Addr().Pointer() {
			t.Errorf("column %q reads another field than %s", c.name, sf.Name)
		}
		_, ok := columnField(c)
		elem := sf.Type
		if elem.Kind() == reflect.Struct && strings.HasPrefix(elem.Name(), "Opt[") {
			elem = elem.Field(0).Type
		}
		list := elem.Kind() == reflect.Slice || elem.Kind() == reflect.Struct
		if ok == list {
			t.Errorf("column %q of type %s: matchable %v", c.name, sf.Type, ok)
		}
		if _, known := fields[c.name]; !known && !list && !ignoredColumns[c.name] {
			t.Errorf("column %q is not a field a query can name", c.name)
		}
	}
}
