package daemon

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Month-to-date charges: what Vast actually billed this calendar month, from /api/v0/charges/,
// exported beside the committed spend vastwatch integrates itself (bandwidth is billed but is
// not in dph_total, so only the charges show it).
const (
	// chargesEvery is how often the charges are read: they change by the second, but a finance
	// chart needs no more, and the endpoint shares the account's rate limits.
	chargesEvery = 10 * time.Minute
	// chargesRefusedRetry is how long after a key was refused billing_read it is asked again
	// (a key's scopes can be widened without a restart).
	chargesRefusedRetry = 6 * time.Hour
	// chargesErrorRetry is the wait after any other failure.
	chargesErrorRetry = time.Minute
)

type chargesReader interface {
	Charges(ctx context.Context, from, to time.Time) ([]vastapi.Charge, error)
}

// chargesPoller keeps the account's month-to-date charges by item. Only the cycle loop calls
// refresh; current may be called from anywhere.
type chargesPoller struct {
	api    chargesReader
	logger *slog.Logger

	mu      sync.Mutex
	next    time.Time
	refused bool
	month   time.Time          // start of the month byItem covers
	byItem  map[string]float64 // nil: unknown (never read, refused, or a new month not read yet)
	// last is the month-to-date bill the planner takes month-to-date spend up to; nil when
	// byItem is.
	last *scaler.Bill
}

// refresh reads the charges when they are due. A refusal (no billing_read) is logged once and
// asked again after chargesRefusedRetry; the metric is then absent rather than zero.
func (c *chargesPoller) refresh(ctx context.Context, now time.Time) {
	c.mu.Lock()
	due := !now.Before(c.next)
	c.mu.Unlock()
	if !due {
		return
	}
	month := time.Date(now.UTC().Year(), now.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	rows, err := c.api.Charges(ctx, month, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case vastapi.IsAuth(err):
		if !c.refused {
			c.logger.Info("the API key may not read billing (billing_read); month-to-date charges are not exported", "err", err)
		}
		c.refused, c.byItem, c.last, c.next = true, nil, nil, now.Add(chargesRefusedRetry)
	case err != nil:
		c.logger.Warn("month-to-date charges not read; the last figures stay", "err", err)
		c.next = now.Add(chargesErrorRetry)
		if !c.month.Equal(month) {
			c.byItem, c.last = nil, nil // last month's figures are not this month's
		}
	default:
		if c.refused {
			c.logger.Info("the API key may read billing now; month-to-date charges are exported")
		}
		c.refused, c.month, c.next = false, month, now.Add(chargesEvery)
		c.byItem = monthToDate(rows, month, now)
		c.last = billOf(rows, month, now)
	}
}

// bill is the month's charges as last read, or nil when unknown.
func (c *chargesPoller) bill() *scaler.Bill {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// current is the month-to-date charges by item, or nil when unknown.
func (c *chargesPoller) current() map[string]float64 {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byItem)
}

// chargeItems are the items docs/metrics.md names. Each is in every read, at 0 until Vast
// charges it, so a fresh month charts as $0 rather than as no data.
var chargeItems = []string{"gpu", "disk", "bwd", "bwu"}

// monthToDate sums the charge items by type over [month, now]: chargeItems and any other type a
// row names. A row that began before the month counts in proportion to its time inside it
// (charges accrue by the second).
func monthToDate(rows []vastapi.Charge, month, now time.Time) map[string]float64 {
	out := make(map[string]float64, len(chargeItems))
	for _, it := range chargeItems {
		out[it] = 0
	}
	for _, r := range rows {
		share := monthShare(r, month, now)
		if len(r.Items) == 0 {
			out[r.Type] += r.Amount * share
			continue
		}
		for _, it := range r.Items {
			out[it.Type] += it.Amount * share
		}
	}
	return out
}

// monthShare is the part of a charge row inside [month, now].
func monthShare(r vastapi.Charge, month, now time.Time) float64 {
	m0, t1 := float64(month.Unix()), float64(now.Unix())
	if span := r.End - r.Start; r.Start < m0 && span > 0 {
		return max(0, min(r.End, t1)-m0) / span
	}
	return 1
}

// billOf is the month's bill: every row's amount inside the month, for the account and, for a
// row whose source is an instance ("instance-<id>"), for that instance. A row's amount is its
// items' sum when it has items, as monthToDate counts it; a negative amount (a refund, a broken
// row) counts as nothing, so the bill never lowers what is known to be spent.
func billOf(rows []vastapi.Charge, month, now time.Time) *scaler.Bill {
	b := &scaler.Bill{Month: scaler.MonthKey(month), At: now, Instances: map[int64]float64{}}
	for _, r := range rows {
		amount := r.Amount
		if len(r.Items) > 0 {
			amount = 0
			for _, it := range r.Items {
				amount += it.Amount
			}
		}
		amount *= monthShare(r, month, now)
		if !(amount > 0) || math.IsInf(amount, 0) {
			continue
		}
		b.Account += amount
		if src, ok := strings.CutPrefix(r.Source, "instance-"); ok {
			if id, err := strconv.ParseInt(src, 10, 64); err == nil {
				b.Instances[id] += amount
			}
		}
	}
	return b
}
