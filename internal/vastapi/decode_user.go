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

func decodeUserField(s *scanner, u *User, key []byte) error {
	switch string(key) {
	case "id":
		return fieldErr("id", s.int64(&u.ID))
	case "username":
		return fieldErr("username", s.str(&u.Username))
	case "email":
		return fieldErr("email", s.str(&u.Email))
	case "credit":
		return fieldErr("credit", s.float(&u.Credit))
	case "balance":
		return fieldErr("balance", s.float(&u.Balance))
	case "balance_threshold":
		return fieldErr("balance_threshold", s.optFloat(&u.BalanceThreshold))
	case "balance_threshold_enabled":
		return fieldErr("balance_threshold_enabled", s.bool(&u.BalanceThresholdEnabled))
	case "can_pay":
		return fieldErr("can_pay", s.bool(&u.CanPay))
	case "has_billing":
		return fieldErr("has_billing", s.bool(&u.HasBilling))
	case "billing_creditonly":
		return fieldErr("billing_creditonly", s.bool(&u.BillingCreditOnly))
	case "api_key":
		return s.skip() // never stored
	}
	if canon, ok := foldKey(userKeys, key); ok {
		return decodeUserField(s, u, []byte(canon))
	}
	return s.skip()
}

var userKeys = foldTable("id", "username", "email", "credit", "balance", "balance_threshold", "balance_threshold_enabled", "can_pay", "has_billing", "billing_creditonly")
