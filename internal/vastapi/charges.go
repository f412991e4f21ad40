package vastapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Charge is one row of GET /api/v0/charges/ (docs/vast-api.md §5): what one source (an instance)
// was charged over [Start, End], in $, itemised by kind (gpu, disk, bwd, bwu).
type Charge struct {
	Start       float64      `json:"start"` // epoch seconds
	End         float64      `json:"end"`
	Type        string       `json:"type"`   // "instance", …
	Source      string       `json:"source"` // "instance-<id>"
	Description string       `json:"description"`
	Amount      float64      `json:"amount"`
	Items       []ChargeItem `json:"items"`
}

// ChargeItem is one part of a charge: gpu, disk, bwd (download), bwu (upload), ….
type ChargeItem struct {
	Type        string  `json:"type"`
	Amount      float64 `json:"amount"`
	Description string  `json:"description"`
}

// ChargesPageSize is the page size of GET /api/v0/charges/ (the official client's cap).
const ChargesPageSize = 100

// maxChargesPages bounds one charges listing (10,000 rows).
const maxChargesPages = 100

// Charges lists the account's charges of the days in [from, to], following next_token. It needs
// a key that may read billing (billing_read); without it the API answers 401, 403 or 404, an
// *APIError whose IsAuth reports true.
func (c *Client) Charges(ctx context.Context, from, to time.Time) ([]Charge, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("vast api GET %s: range ends before it starts", EPCharges)
	}
	filters, err := json.Marshal(map[string]map[string]int64{"day": {"gte": from.Unix(), "lte": to.Unix()}})
	if err != nil {
		return nil, fmt.Errorf("vast api GET %s: %w", EPCharges, err)
	}
	var all []Charge
	seen := map[string]bool{}
	token := ""
	for page := 1; ; page++ {
		if page > maxChargesPages {
			return nil, fmt.Errorf("vast api GET %s: more than %d pages", EPCharges, maxChargesPages)
		}
		path := EPCharges + "?select_filters=" + url.QueryEscape(string(filters)) +
			"&format=table&latest_first=true&limit=" + strconv.Itoa(ChargesPageSize)
		if token != "" {
			path += "&after_token=" + url.QueryEscape(token)
		}
		rq := &request{method: http.MethodGet, tmpl: EPCharges, path: path, kind: kindRead}
		var rep chargesReply
		err := c.do(ctx, rq, func(resp *http.Response) outcome {
			b, fail := c.readBody(ctx, rq, resp)
			if fail != nil {
				return *fail
			}
			rep = chargesReply{}
			if err := json.Unmarshal(b, &rep); err != nil {
				return outcome{err: fmt.Errorf("vast api %s: decode reply: %w", rq.name(), err)}
			}
			if rep.Success != nil && !*rep.Success {
				env := envelope{Success: Some(false), Code: rep.Error, Msg: rep.Msg}
				return c.successFalse(rq, resp.StatusCode, &env)
			}
			return outcome{}
		})
		if err != nil {
			if page > 1 {
				return nil, fmt.Errorf("charges page %d: %w", page, err)
			}
			return nil, err
		}
		all = append(all, rep.Results...)
		if rep.NextToken == nil || *rep.NextToken == "" {
			return all, nil
		}
		if seen[*rep.NextToken] {
			return nil, fmt.Errorf("vast api GET %s: next_token repeats on page %d", EPCharges, page)
		}
		seen[*rep.NextToken] = true
		token = *rep.NextToken
	}
}

type chargesReply struct {
	Success   *bool    `json:"success"`
	Error     string   `json:"error"`
	Msg       string   `json:"msg"`
	NextToken *string  `json:"next_token"`
	Results   []Charge `json:"results"`
}
