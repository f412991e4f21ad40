package vastapi

import (
	"encoding/json"
	"testing"
)

// The API sends some flags as 0/1 numbers (billing_creditonly, has_avx); they decode as booleans.
func TestBooleanFlagsDecodeFromNumbers(t *testing.T) {
	var u User
	if err := json.Unmarshal([]byte(`{"credit": 12.5, "billing_creditonly": 0, "can_pay": 1, "has_billing": true}`), &u); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if u.BillingCreditOnly || !u.CanPay || !u.HasBilling || u.Credit != 12.5 {
		t.Fatalf("decoded %+v", u)
	}
	if err := json.Unmarshal([]byte(`{"can_pay": "maybe"}`), &u); err == nil {
		t.Fatal("a string that is no boolean must be an error")
	}
}
