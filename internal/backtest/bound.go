package backtest

import (
	"slices"
)

// fill is the cheapest way to provide secs instance-seconds within an interval of span
// seconds from candidates priced at prices ($/h): each candidate gives at most span seconds,
// the cheapest first (a fractional knapsack, whose greedy answer is optimal). It is the lower
// bound's one step (docs/backtest.md "The lower bound"): the policy's own instances are among
// the candidates at what they cost, so what the policy paid for its running time in the
// interval can never be below it.
func fill(prices []float64, secs, span float64) float64 {
	if secs <= 0 || span <= 0 {
		return 0
	}
	slices.Sort(prices)
	dollars := 0.0
	for _, p := range prices {
		take := min(secs, span)
		dollars += p * take / 3600
		secs -= take
		if secs <= 0 {
			return dollars
		}
	}
	// More running time than candidates can give: cannot happen with the policy's own
	// instances among them, but if it did, the rest is priced at the dearest.
	if len(prices) > 0 {
		dollars += prices[len(prices)-1] * secs / 3600
	}
	return dollars
}

// percentiles are the 10th, 50th and 90th percentile of sorted prices (nearest rank); zero
// with none.
func percentiles(sorted []float64) (p10, p50, p90 float64) {
	if len(sorted) == 0 {
		return 0, 0, 0
	}
	at := func(q float64) float64 {
		i := int(q*float64(len(sorted)) + 0.5)
		return sorted[min(max(i-1, 0), len(sorted)-1)]
	}
	return at(0.1), at(0.5), at(0.9)
}
