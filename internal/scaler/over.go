package scaler

import "fmt"

// Over a limit (docs/design.md §5): lowering a budget or the account's cap below what is already
// committed, or credit falling under the floor, keeps the existing instances (removing them is
// never the price of a lower limit) and stops new rentals. The plan says so in words, for the
// status page and `vastwatch plan`, and the metrics export it.

// Overs are the account-wide limits passed at plan time; empty when none is.
type Overs struct {
	// SpendCap: committed spend is above account.max_spend_dollars_per_hour.
	SpendCap bool
	// CreditFloor: credit is under account.credit_floor_dollars.
	CreditFloor bool
}

// overBudget says, for a fleet whose committed spend is above its hourly budget, what that
// means; "" when it is not.
func overBudget(committed, budget float64) string {
	if budget <= 0 || committed <= budget+eps {
		return ""
	}
	return fmt.Sprintf("over budget: $%.2f/h of $%.2f/h, no new rentals; existing instances kept", committed, budget)
}

// overs finds the account-wide limits passed before this cycle's actions.
func (p *planner) overs() {
	a := p.cfg.Account
	p.res.Over = Overs{
		SpendCap:    a.MaxSpendPerHour > 0 && p.account > a.MaxSpendPerHour+eps,
		CreditFloor: p.obs.User.Credit < a.CreditFloor,
	}
}

// Explain says in words which account-wide limits r's account is past; nil when none.
func (r *Result) Explain(spendCap, creditFloor float64) []string {
	var out []string
	if r.Over.SpendCap {
		out = append(out, fmt.Sprintf("over the account's spend cap: $%.2f/h of $%.2f/h, no new rentals; existing instances kept", r.CommittedBefore, spendCap))
	}
	if r.Over.CreditFloor {
		out = append(out, fmt.Sprintf("credit $%.2f is under the floor $%.2f: no new rentals; existing instances kept", r.Credit, creditFloor))
	}
	return out
}
