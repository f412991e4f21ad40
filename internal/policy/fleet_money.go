package policy

// Every price here is whole-instance $/h (dph_total), as in model.go.

// money checks the fleet's price cap and budgets, then warns (without failing the file) when
// the account's cap or the fleet's own budget keeps it below what it asks for.
func (c *fleetCheck) money(ff *fileFleet, sz sizeRange) {
	priceOK := c.maxPrice(ff.MaxPrice)
	c.budget(ff.Budget, ff.MaxPrice, priceOK)
	c.nonNegative(c.p.dot(fleetMonthly), ff.MonthlyBudget, "dollars per month (0 = no cap)")
	if ff.MonthlyBudget < 0 {
		c.ok = false
	}
	if acctCap := c.fc.Account.MaxSpendPerHour; priceOK && acctCap > 0 && acctCap < ff.MaxPrice {
		c.warn(c.p.dot(fleetMaxPrice), "%s is above account.max_spend_dollars_per_hour %s; offers above the account cap can never be rented", money(ff.MaxPrice), money(acctCap))
	}
	if priceOK && ff.Budget >= ff.MaxPrice && sz.Max > 0 && ff.Budget < ff.MaxPrice*float64(sz.Max) && sz.ok {
		// Not an error: cheaper offers may fit more instances. Worth knowing, though.
		c.warn(c.p.dot(fleetBudget), "%s covers %d instances at max_price_dollars_per_hour %s, fewer than size.max %d; the fleet reaches max only with cheaper offers", money(ff.Budget), int(ff.Budget/ff.MaxPrice), money(ff.MaxPrice), sz.Max)
	}
}

// maxPrice checks max_price_dollars_per_hour (required, positive) and reports whether the
// budget may be compared with it.
func (c *fleetCheck) maxPrice(price float64) bool {
	p := c.p.dot(fleetMaxPrice)
	switch {
	case c.failed(p):
		c.ok = false
	case !c.isSet(p):
		c.fail(p, "required; allowed: the most one instance may cost in whole-instance $/h (dph_total), e.g. 0.60")
	case price <= 0:
		c.fail(p, "%s is not positive; allowed: the most one instance may cost in whole-instance $/h (dph_total), e.g. 0.60", money(price))
	default:
		return true
	}
	return false
}

// budget checks budget_dollars_per_hour: required, positive, and enough for one instance at
// the fleet's price cap.
func (c *fleetCheck) budget(budget, price float64, priceOK bool) {
	p := c.p.dot(fleetBudget)
	switch {
	case c.failed(p):
		c.ok = false
	case !c.isSet(p):
		c.fail(p, "required; allowed: the most the whole fleet may commit in $/h, at least max_price_dollars_per_hour")
	case budget <= 0:
		c.fail(p, "%s is not positive; allowed: the most the whole fleet may commit in $/h, at least max_price_dollars_per_hour", money(budget))
	case priceOK && budget < price:
		c.fail(p, "%s is less than one instance at max_price_dollars_per_hour %s; allowed: at least %s", money(budget), money(price), money(price))
	}
}
