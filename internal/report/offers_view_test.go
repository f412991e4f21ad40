package report

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// A location prints the parts the host filled in: an empty region leaves no stray comma.
func TestLocationLeavesOutEmptyParts(t *testing.T) {
	for geo, want := range map[string]string{
		"Oregon, US":         "Oregon, US",
		", US":               "US",
		"Oregon, ":           "Oregon",
		"  ,  ":              "-",
		"":                   "-",
		"United Kingdom, GB": "United Kingdom, GB",
	} {
		if got := location(geo); got != want {
			t.Errorf("location(%q) = %q, want %q", geo, got, want)
		}
	}
}

// A table says the order the offers come in and what its prices are: a bid search's price
// columns are minimum bids, and its closing line says so.
func TestTableSaysOrderAndPriceKind(t *testing.T) {
	offers := realOffers(t)[:3]
	for _, c := range []struct {
		name    string
		q       vastapi.Query
		minBid  bool
		closing string
	}{
		{"on-demand by score", vastapi.Query{Type: vastapi.OnDemand, Order: []vastapi.OrderBy{{Field: "score", Desc: true}}, AllocatedStorage: vastapi.Some(5.0)},
			false, "3 offers by score (highest first); prices include 5 GB of storage"},
		{"bid by two fields", vastapi.Query{Type: vastapi.Bid, Order: []vastapi.OrderBy{{Field: "dph_total"}, {Field: "reliability", Desc: true}}, AllocatedStorage: vastapi.Some(10.0)},
			true, "3 offers by dph_total (lowest first), then reliability (highest first); prices are minimum bids and include 10 GB of storage"},
		{"no order", vastapi.Query{}, false, "3 offers; prices include 0 GB of storage"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := SearchOffers(context.Background(), &fakeSearch{offers: offers, failAfter: -1}, c.q, &out, "table"); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if got := lines[len(lines)-1]; got != c.closing {
				t.Errorf("closing line %q, want %q", got, c.closing)
			}
			bidHeader := strings.Contains(lines[0], "  min bid $/h  min bid $/gpu/h  ")
			plainHeader := strings.Contains(lines[0], "  $/h  ")
			if bidHeader != c.minBid || plainHeader == c.minBid {
				t.Errorf("header %q; want minimum-bid columns: %v", lines[0], c.minBid)
			}
		})
	}
}

// CSV keeps one header whatever the search type, so scripts reading it keep working.
func TestCSVHeaderIsTheSameForBids(t *testing.T) {
	var out bytes.Buffer
	q := vastapi.Query{Type: vastapi.Bid}
	if err := SearchOffers(context.Background(), &fakeSearch{offers: realOffers(t)[:1], failAfter: -1}, q, &out, "csv"); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(out.String(), "\n"); first != strings.Join(offerHeader, ",") {
		t.Fatalf("csv header %q", first)
	}
}
