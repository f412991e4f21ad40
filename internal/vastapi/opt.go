package vastapi

// Opt is a value the API may send as null. Valid is false for null or absent; matching treats
// such a field as unknown rather than as a mismatch (docs/vast-api.md §2).
type Opt[T any] struct {
	V     T
	Valid bool
}

// Some returns a present Opt.
func Some[T any](v T) Opt[T] { return Opt[T]{V: v, Valid: true} }

// Or returns the value, or def when it is null.
func (o Opt[T]) Or(def T) T {
	if o.Valid {
		return o.V
	}
	return def
}
