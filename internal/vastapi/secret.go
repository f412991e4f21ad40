package vastapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Secret holds a credential (the API key, an instance API key, a jupyter token). Every way of
// printing it — String, %v, %#v, JSON, slog — yields a redaction marker; only Reveal returns
// the value, and the client calls Reveal in one place: the Authorization header.
type Secret struct{ v string }

const redacted = "<redacted>"

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the secret value. Call it only where the value must leave the process.
func (s Secret) Reveal() string { return s.v }

// Empty reports whether no secret is set.
func (s Secret) Empty() bool { return s.v == "" }

func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString redacts %#v.
func (s Secret) GoString() string { return s.String() }

// Format redacts every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON redacts the value in JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText redacts the value in text encodings (YAML, env dumps).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue redacts the value in slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// NewSecretOrPlain JSON-encodes s, redacted when secret is true.
func NewSecretOrPlain(s string, secret bool) ([]byte, error) {
	if secret {
		return NewSecret(s).MarshalJSON()
	}
	return json.Marshal(s)
}

// UnmarshalJSON reads a string (null = empty). Decoding is allowed; encoding always redacts.
func (s *Secret) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Secret{}
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("secret: want a string")
	}
	*s = NewSecret(v)
	return nil
}
