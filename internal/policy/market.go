package policy

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// marketCheck validates one market: name, type, the search's shape (limit, storage, order),
// group_by, and last the query, which is compiled only once everything it depends on is valid.
type marketCheck struct{ section }

func (v *validator) market(i int, fm *fileMarket, names *names) *Market {
	c := &marketCheck{section{validator: v, p: yamlPath(configMarkets).at(i), ok: true}}
	if !names.check(v, c.p.dot(marketName), fm.Name) {
		c.ok = false
	}
	typ := c.offerType(fm.Type)
	c.search(fm)
	c.groupBy(fm.GroupBy)
	if !c.isSet(c.p.dot(marketQuery)) {
		c.bad(c.p.dot(marketQuery), "required; allowed: a search in the vast CLI syntax, e.g. \"gpu_name=RTX_4090 num_gpus=1\" (\"\" for every offer)")
		return nil
	}
	if !c.ok {
		return nil
	}
	q, ok := c.query(fm, typ)
	if !ok {
		return nil
	}
	return &Market{
		Name:      fm.Name,
		QueryText: fm.Query,
		Query:     q,
		Type:      typ,
		StorageGB: fm.StorageGB,
		GroupBy:   append([]string(nil), fm.GroupBy...),
	}
}

// offerType reads the market's type, with the vast CLI's spellings.
func (c *marketCheck) offerType(s string) vastapi.OfferType {
	switch s {
	case "on-demand", "ondemand":
		return vastapi.OnDemand
	case "bid", "interruptible":
		return vastapi.Bid
	case "reserved":
		return vastapi.Reserved
	}
	c.fail(c.p.dot(marketType), "%s is not a market type; allowed: on-demand, bid or reserved", strconv.Quote(s))
	return ""
}

// search checks the options that shape the search besides the query text.
func (c *marketCheck) search(fm *fileMarket) {
	if fm.Limit < 0 {
		c.fail(c.p.dot(marketLimit), "%d is negative; allowed: 0 (the server's default) or a positive number of offers", fm.Limit)
	}
	if fm.StorageGB <= 0 {
		c.fail(c.p.dot(marketStorageGB), "%s is not positive; allowed: the disk size in GB that prices include, e.g. 20", money(fm.StorageGB))
	}
	if _, err := ParseOrder(fm.Order); err != nil {
		c.fail(c.p.dot(marketOrder), "%v; allowed: the vast CLI -o syntax, e.g. \"dph_total\" or \"dlperf_per_dphtotal-\"", err)
	}
}

// groupBy checks the labels of the market's price metrics: from the fixed set, each once.
func (c *marketCheck) groupBy(labels []string) {
	seen := map[string]bool{}
	for j, g := range labels {
		gp := c.p.dot(marketGroupBy).at(j)
		switch {
		case !isGroupByLabel(g):
			c.fail(gp, "%s is not a group_by label; allowed: %s", strconv.Quote(g), strings.Join(GroupByLabels, ", "))
		case seen[g]:
			c.fail(gp, "%s is listed twice; allowed: each label once", strconv.Quote(g))
		}
		seen[g] = true
	}
}

// query parses the market's query as the vast CLI would, and compiles it as the daemon will
// to re-check every reply; ok is false when either fails.
func (c *marketCheck) query(fm *fileMarket, typ vastapi.OfferType) (vastapi.Query, bool) {
	p := c.p.dot(marketQuery)
	q, warns, err := ParseQueryWarnings(fm.Query, SearchOptions{
		Order: fm.Order, Limit: fm.Limit, Type: string(typ), StorageGB: fm.StorageGB, NoDefaults: fm.NoDefaults,
	})
	for _, w := range warns {
		w = strings.TrimSuffix(strings.TrimPrefix(w, "Warning: "), ", see list of recognized fields.")
		c.warn(p, "%s; it is still sent, as the vast CLI does", w)
	}
	if err != nil {
		c.bad(p, "%s; allowed: the vast CLI search offers syntax, e.g. \"gpu_name=RTX_4090 num_gpus>=1\"", strings.TrimSuffix(err.Error(), "."))
		return vastapi.Query{}, false
	}
	matcher, err := q.Compile(time.Unix(0, 0))
	if err != nil {
		c.bad(p, "%v; allowed: values the offer fields can be compared with", err)
		return vastapi.Query{}, false
	}
	for _, f := range matcher.Unknown {
		if offerFields[f] {
			c.warn(p, "field %s is sent to the API but vastwatch cannot re-check it in replies", f)
		}
	}
	return q, true
}

func (fc *fileConfig) hasMarket(name string) bool {
	for _, m := range fc.Markets {
		if m.Name == name {
			return true
		}
	}
	return false
}

func isGroupByLabel(s string) bool {
	for _, g := range GroupByLabels {
		if g == s {
			return true
		}
	}
	return false
}

func marketNames(byName map[string]*Market) string {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
