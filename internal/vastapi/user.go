package vastapi

// User is the reply of GET /api/v0/users/current/. The reply's api_key is discarded at decode
// time and never stored; Credit is the spendable balance (docs/vast-api.md §5).
type User struct {
	ID                      int64        `json:"id"`
	Username                string       `json:"username"`
	Email                   string       `json:"email"`
	Credit                  float64      `json:"credit"`
	Balance                 float64      `json:"balance"`
	BalanceThreshold        Opt[float64] `json:"balance_threshold"`
	BalanceThresholdEnabled bool         `json:"balance_threshold_enabled"`
	CanPay                  bool         `json:"can_pay"`
	HasBilling              bool         `json:"has_billing"`
	BillingCreditOnly       bool         `json:"billing_creditonly"`
}
