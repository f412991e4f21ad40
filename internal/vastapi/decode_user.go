package vastapi

import "fmt"

// UnmarshalJSON decodes the current-user reply. Its api_key is skipped unread: the key never
// reaches a User value, so it cannot be logged or printed from one.
func (u *User) UnmarshalJSON(b []byte) error {
	s := newBytesScanner(b)
	null, err := s.isNull()
	if err != nil || null {
		return err
	}
	var v User
	if err := s.object(func(key []byte) error { return decodeUserField(s, &v, key) }); err != nil {
		return fmt.Errorf("user: %w", err)
	}
	if err := s.trailing(); err != nil {
		return fmt.Errorf("user: %w", err)
	}
	*u = v
	return nil
}
