package vastapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// MarshalJSON writes null for an absent value.
func (o Opt[T]) MarshalJSON() ([]byte, error) {
	if !o.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(o.V)
}

// UnmarshalJSON reads null as absent, and a number sent as a string ("2") as the number, since
// the API is loose about both.
func (o *Opt[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*o = Opt[T]{}
		return nil
	}
	var v T
	err := json.Unmarshal(b, &v)
	if err != nil && b[0] == '"' {
		// A quoted number for a numeric T.
		var s string
		if json.Unmarshal(b, &s) == nil {
			s = strings.TrimSpace(s)
			if s == "" {
				*o = Opt[T]{}
				return nil
			}
			if _, perr := strconv.ParseFloat(s, 64); perr == nil {
				err = json.Unmarshal([]byte(s), &v)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("decode %s: %w", b, err)
	}
	*o = Some(v)
	return nil
}

// MarshalJSON writes the API's form: a list of [name, value] pairs, [] when empty.
func (e EnvPairs) MarshalJSON() ([]byte, error) {
	out := make([][2]string, len(e))
	for i, p := range e {
		out[i] = [2]string{p.Name, p.Value}
	}
	return json.Marshal(out)
}

// UnmarshalJSON accepts [[k, v], …] (the API) and {k: v, …} (the CLI's --raw output), keeping
// order; null decodes as empty.
func (e *EnvPairs) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*e = nil
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	switch b[0] {
	case '[':
		var pairs [][]any
		if err := json.Unmarshal(b, &pairs); err != nil {
			return fmt.Errorf("extra_env: %w", err)
		}
		for _, p := range pairs {
			if len(p) != 2 {
				return fmt.Errorf("extra_env: want [name, value] pairs, got %d items", len(p))
			}
			*e = append(*e, EnvPair{Name: fmt.Sprint(p[0]), Value: envString(p[1])})
		}
	case '{':
		dec := json.NewDecoder(bytes.NewReader(b))
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("extra_env: %w", err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return fmt.Errorf("extra_env: %w", err)
			}
			var v any
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("extra_env: %w", err)
			}
			*e = append(*e, EnvPair{Name: fmt.Sprint(k), Value: envString(v)})
		}
	default:
		return fmt.Errorf("extra_env: want a list of pairs or an object")
	}
	return nil
}

func envString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
