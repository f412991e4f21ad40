package vastsim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// handleInvoices answers the CLI's `show invoices` (GET /api/v0/users/me/invoices): the starting
// credit as a payment, and each instance's charges so far as a GPU and a storage row, those whose
// timestamp falls in [sdate, edate] when given (inc_charges=false leaves charges out), with the
// account's `current` summary. Amounts are strings as the API writes them: a payment negative,
// a charge positive.
func (s *Sim) handleInvoices(r *http.Request, _ []byte, rt route) reply {
	if rt.arg != "me" && rt.arg != strconv.Itoa(simUserID) {
		return apiErr(403, "not_authorized", "You can only read your own invoices.")
	}
	q := r.URL.Query()
	bound := func(k string, def float64) (float64, bool) {
		v := q.Get(k)
		if v == "" {
			return def, true
		}
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	from, ok1 := bound("sdate", 0)
	to, ok2 := bound("edate", 1e12)
	if !ok1 || !ok2 {
		return apiErr(400, "invalid_args", "sdate and edate are epoch seconds")
	}
	charges := q.Get("inc_charges") != "false"
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rows := []map[string]any{}
	in := func(ts float64) bool { return ts >= from && ts <= to }
	if start := epoch(s.start); in(start) {
		credit := strconv.FormatFloat(-s.opts.Credit, 'f', 2, 64)
		rows = append(rows, map[string]any{"id": 900_001, "type": "payment", "is_credit": true, "last4": nil,
			"description": "Add credit (the simulator's starting credit)", "timestamp": start,
			"quantity": "1", "rate": credit, "amount": credit})
	}
	total := 0.0
	for _, inst := range s.instList {
		total += inst.gpuCost + inst.diskCost
		end := now
		if inst.destroyed {
			end = inst.destroyedAt
		}
		if !charges || !in(epoch(end)) {
			continue
		}
		hours := end.Sub(inst.created).Hours() * s.speed
		rows = append(rows,
			chargeRow(inst.id, "GPU", inst.gpuSecs/3600, inst.dphBase, inst.gpuCost, end),
			chargeRow(inst.id, "storage", hours, inst.storagePerHour(), inst.diskCost, end))
	}
	return jsonReply(200, map[string]any{
		"invoices": rows, "username": "sim", "bill_to": "Simulated User", "email": "sim@example.invalid",
		"fullname": "Simulated User", "address1": "", "address2": "", "city": "", "zip": "", "country": "",
		"taxinfo": "", "current": map[string]any{"charges": total, "service_fee": 0.0, "total": total, "credit": s.credit},
	})
}

func chargeRow(id int64, what string, quantity, rate, amount float64, at time.Time) map[string]any {
	return map[string]any{"type": "charge", "instance_id": id, "timestamp": epoch(at),
		"description": fmt.Sprintf("Instance %d %s charge: hours * $/hr", id, what),
		"quantity":    strconv.FormatFloat(quantity, 'f', 3, 64), "rate": strconv.FormatFloat(rate, 'f', 4, 64),
		"amount": strconv.FormatFloat(amount, 'f', 6, 64)}
}
