package vastapi

// Reprice sets the price fields of o as the server computes them for this query's
// allocated_storage and type (docs/vast-api.md §2): storage_total_cost = storage_cost×GB/720,
// dph_total = base + storage, where base is dph_base on-demand, min_bid for `bid` and the
// discounted rate for `reserved`; *_per_dphtotal and the `search` breakdown follow. With no
// allocated_storage the offer's storage share is left as it is.
func (m *Matcher) Reprice(o *Offer) {
	storage := o.StorageTotalCost
	if m.hasStore {
		storage = o.StoragePerHour(m.storage)
	}
	base := o.DphBase
	switch m.typ {
	case Bid:
		base = o.MinBid
		o.IsBid = true
	case Reserved:
		if o.DiscountRate.Valid {
			base = o.DphBase * (1 - o.DiscountRate.V)
		}
	}
	o.StorageTotalCost = storage
	o.DphTotal = base + storage
	if o.DphTotal > 0 {
		o.DLPerfPerDphTotal = o.DLPerf / o.DphTotal
		o.FlopsPerDphTotal = o.TotalFlops / o.DphTotal
	}
	o.DiscountedDphTotal = o.DphTotal
	o.Search = PriceBreakdown{
		GPUCostPerHour:         base,
		DiskHour:               storage,
		TotalHour:              o.DphTotal,
		DiscountedTotalPerHour: o.DphTotal,
	}
	o.Instance = PriceBreakdown{DiskHour: storage, TotalHour: storage, DiscountedTotalPerHour: storage}
}
