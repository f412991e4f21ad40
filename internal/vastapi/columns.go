package vastapi

// The json tags of the wire structs (Offer, Instance, PriceBreakdown, User) are the one list of
// their columns. `go generate ./internal/vastapi` reads them and writes columns_gen.go: each
// struct's decoder field switch and case-folding key list, and Offer's column table, from which
// the matcher builds the fields a query can name (match_fields.go adds aliases and virtual
// columns). Adding a field is one edit: the field with its json tag (and decode:"trim" for a
// string whose surrounding spaces mean nothing), then go generate; TestColumnsGenIsFresh fails
// until the generated file is rewritten.

//go:generate go run ./internal/colgen/cmd/colgen

// column is one JSON field of a wire struct R.
type column[R any] struct {
	name string // the JSON key
	trim bool   // surrounding spaces are dropped, at decode and when matching
	get  any    // func(*R) *T: the field, typed as declared
}
