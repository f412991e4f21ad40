package vastapi

import (
	"encoding/json"
	"fmt"
)

// UnmarshalJSON decodes an instance from the list or show-instance reply: quoted numbers and
// nulls are accepted, extra_env in both forms, public_ipaddr trimmed.
func (i *Instance) UnmarshalJSON(b []byte) error {
	s := newBytesScanner(b)
	null, err := s.isNull()
	if err != nil || null {
		return err
	}
	var v Instance
	if err := s.object(func(key []byte) error { return decodeInstanceField(s, &v, key) }); err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	if err := s.trailing(); err != nil {
		return fmt.Errorf("instance: %w", err)
	}
	*i = v
	return nil
}

// instance reads one instance object at the scanner's position.
func (s *scanner) instance() (*Instance, error) {
	if c, err := s.peek(); err != nil {
		return nil, err
	} else if c != '{' {
		return nil, fmt.Errorf("instance: %w", errType{"an object"})
	}
	inst := new(Instance)
	if err := s.object(func(key []byte) error { return decodeInstanceField(s, inst, key) }); err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}
	return inst, nil
}

func (s *scanner) envPairs(dst *EnvPairs) error {
	raw, err := s.rawValue()
	if err != nil {
		return err
	}
	return dst.UnmarshalJSON(raw)
}

func (s *scanner) ports(dst *map[string][]PortBinding) error {
	raw, err := s.rawValue()
	if err != nil {
		return err
	}
	var m map[string][]PortBinding
	if err := json.Unmarshal(raw, &m); err != nil {
		return errType{"a map of port bindings"}
	}
	*dst = m
	return nil
}
