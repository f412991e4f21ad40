package vastsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// maxChargesLimit is the most rows one charges page returns (docs/vast-api.md §5: limit ≤ 500).
const maxChargesLimit = 500

// handleCharges lists what each instance was charged, gpu and disk items as billed (bandwidth is
// not simulated), newest first with latest_first=true, a page of limit rows (default 100, at
// most 500) at a time, the next page named by next_token.
func (s *Sim) handleCharges(r *http.Request, _ []byte, _ route) reply {
	var f map[string]map[string]json.RawMessage
	qv := r.URL.Query()
	raw := qv.Get("select_filters")
	if raw == "" || json.Unmarshal([]byte(raw), &f) != nil || f["day"] == nil {
		return apiErr(400, "invalid_request", "select_filters with a day range is required")
	}
	num := func(k string) (float64, bool) {
		var v float64
		b, ok := f["day"][k]
		return v, ok && json.Unmarshal(b, &v) == nil
	}
	from, ok1 := num("gte")
	to, ok2 := num("lte")
	if !ok1 || !ok2 {
		return apiErr(400, "invalid_request", "day needs gte and lte")
	}
	limit := 100
	if l := qv.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return apiErr(400, "invalid_request", "limit must be a positive integer")
		}
		limit = min(n, maxChargesLimit)
	}
	offset := 0
	if t := qv.Get("after_token"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "c"))
		if err != nil || n < 0 || !strings.HasPrefix(t, "c") {
			return apiErr(400, "invalid_request", "after_token is not a token this server issued")
		}
		offset = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	results := []map[string]any{}
	total := 0.0
	for _, in := range s.instList {
		end := now
		if in.destroyed {
			end = in.destroyedAt
		}
		if float64(end.Unix()) < from || float64(in.created.Unix()) > to {
			continue
		}
		amount := in.gpuCost + in.diskCost
		total += amount
		hours := end.Sub(in.created).Hours() * s.speed
		results = append(results, map[string]any{
			"start": float64(in.created.Unix()), "end": float64(end.Unix()), "type": "instance",
			"source": fmt.Sprintf("instance-%d", in.id), "description": fmt.Sprintf("Instance %d", in.id),
			"amount": amount, "metadata": map[string]any{"label": in.label, "template_id": nil},
			"items": []map[string]any{
				{"type": "gpu", "amount": in.gpuCost, "description": fmt.Sprintf("%.3f hours at $%.3f/hour", in.gpuSecs/3600, in.dphBase)},
				{"type": "disk", "amount": in.diskCost, "description": fmt.Sprintf("%.3f hours at $%.3f/hour", hours, in.storagePerHour())},
			},
		})
	}
	if qv.Get("latest_first") == "true" {
		slices.Reverse(results) // instList is in creation order
	}
	count := len(results)
	results = results[min(offset, len(results)):]
	var next any
	if len(results) > limit {
		results = results[:limit]
		next = fmt.Sprintf("c%d", offset+limit)
	}
	return jsonReply(200, map[string]any{"success": true, "count": count, "total": total, "next_token": next, "results": results})
}
