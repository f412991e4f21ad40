package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

var offerHeader = []string{"id", "gpu", "n", "$/h", "$/gpu/h", "dlperf/$", "reliability", "location", "verified"}

func rowOf(o *vastapi.Offer) []string {
	perGPU := "-"
	if o.NumGPUs > 0 {
		perGPU = strconv.FormatFloat(o.DphTotal/float64(o.NumGPUs), 'f', 4, 64)
	}
	dlperfUSD := o.DLPerfPerDphTotal
	if dlperfUSD == 0 && o.DphTotal > 0 {
		dlperfUSD = o.DLPerf / o.DphTotal
	}
	loc := location(o.Geolocation.Or(""))
	verified := o.Verification
	if verified == "" {
		verified = "-"
	}
	return []string{
		strconv.FormatInt(o.ID, 10), o.GPUName, strconv.Itoa(o.NumGPUs),
		strconv.FormatFloat(o.DphTotal, 'f', 4, 64), perGPU,
		strconv.FormatFloat(dlperfUSD, 'f', 1, 64),
		strconv.FormatFloat(o.Reliability, 'f', 4, 64), loc, verified,
	}
}

// location is an offer's "Region, CC" geolocation as printed: a part the host left empty is
// left out (", US" prints as US), and nothing at all as "-".
func location(geo string) string {
	parts := strings.Split(geo, ",")
	kept := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return "-"
	}
	return strings.Join(kept, ", ")
}

// offerView is what a table says about the search beside its rows: the disk its prices include,
// whether they are minimum bids (type bid: the API prices interruptible offers at min_bid), and
// the order the API sorted by.
type offerView struct {
	storage float64
	bid     bool
	order   []vastapi.OrderBy
}

func viewOf(q vastapi.Query) offerView {
	v := offerView{bid: q.Type == vastapi.Bid, order: q.Order}
	if q.AllocatedStorage.Valid {
		v.storage = q.AllocatedStorage.V
	}
	return v
}

// header is the table's header: a bid search's price columns are minimum bids.
func (v offerView) header() []string {
	if !v.bid {
		return offerHeader
	}
	h := slices.Clone(offerHeader)
	h[3], h[4] = "min bid $/h", "min bid $/gpu/h"
	return h
}

// closing is the table's last line: how many offers, in what order, and what the prices are.
func (v offerView) closing(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d offer%s", n, Plural(n))
	for i, o := range v.order {
		sep := ", then "
		if i == 0 {
			sep = " by "
		}
		b.WriteString(sep)
		dir := "lowest first"
		if o.Desc {
			dir = "highest first"
		}
		fmt.Fprintf(&b, "%s (%s)", o.Field, dir)
	}
	if v.bid {
		fmt.Fprintf(&b, "; prices are minimum bids and include %g GB of storage\n", v.storage)
	} else {
		fmt.Fprintf(&b, "; prices include %g GB of storage\n", v.storage)
	}
	return b.String()
}

// OfferSearcher streams a search's offers (*vastapi.Client): restart is asked before a failed
// reply's offers would be replayed (vastapi.Client.SearchOffersStream).
type OfferSearcher interface {
	SearchOffersStream(ctx context.Context, q vastapi.Query, restart func() bool, fn func(*vastapi.Offer) error) error
}

// SearchOffers runs q and prints its offers in format (table, json or csv) as they are decoded,
// in the order the API returned them, holding none of them (docs/design.md §2, search). Prices
// are dph_total, which the API computed for the query's allocated_storage.
//
// Output reaches w in blocks of about 64 KiB. A reply that fails before the first block was
// written is retried as the client retries any search, and its partial output is dropped; one
// that fails later cannot be taken back, so the search ends with an error that says the output
// is incomplete (a JSON array is then left unclosed, and a table lacks its closing count line).
func SearchOffers(ctx context.Context, api OfferSearcher, q vastapi.Query, w io.Writer, format string) error {
	ow, err := newOfferWriter(w, format, viewOf(q))
	if err != nil {
		return err
	}
	if err := api.SearchOffersStream(ctx, q, ow.Restart, ow.Write); err != nil {
		if ow.out.written {
			return fmt.Errorf("search failed after printing began (%d offers so far), so the output is incomplete: %w", ow.n, err)
		}
		return err
	}
	return ow.Close()
}

// offerWriter prints offers one at a time, holding none of them: CSV and JSON rows are written
// as they come, and a table takes its column widths from the header and its first
// tableLookahead rows (tabwriter's layout for a search of up to that many offers); a wider cell
// later widens its column from its row on. The output is spooled in memory until spoolBlock
// bytes have gathered: until then Restart can take it all back.
type offerWriter struct {
	out    spool
	format string
	view   offerView
	n      int // offers written since the last restart

	csv  *csv.Writer
	enc  *json.Encoder // one offer at a time, indented as an element of the array
	elem bytes.Buffer  // enc's output
	tab  table
}

// newOfferWriter starts printing to w in format: table, json or csv; a table's header and
// closing line say what v says.
func newOfferWriter(w io.Writer, format string, v offerView) (*offerWriter, error) {
	switch format {
	case "table", "json", "csv":
	default:
		return nil, fmt.Errorf("output format %q; allowed: table, json or csv", format)
	}
	ow := &offerWriter{out: spool{w: w}, format: format, view: v}
	ow.enc = json.NewEncoder(&ow.elem)
	ow.enc.SetIndent("  ", "  ")
	ow.begin()
	return ow, nil
}

// begin writes what precedes the first offer.
func (ow *offerWriter) begin() {
	ow.n = 0
	switch ow.format {
	case "csv":
		ow.csv = csv.NewWriter(&ow.out)
		_ = ow.csv.Write(offerHeader) // an error stays in the spool and csv's writer
	case "table":
		ow.tab.reset(ow.view.header())
	}
}

// Write prints one offer. It keeps nothing of o.
func (ow *offerWriter) Write(o *vastapi.Offer) error {
	var err error
	switch ow.format {
	case "csv":
		err = ow.csv.Write(rowOf(o))
	case "json":
		err = ow.writeJSON(o)
	default:
		err = ow.tab.add(&ow.out, rowOf(o))
	}
	if err != nil {
		return err
	}
	ow.n++
	return ow.out.err
}

func (ow *offerWriter) writeJSON(o *vastapi.Offer) error {
	ow.elem.Reset()
	if err := ow.enc.Encode(o); err != nil {
		return fmt.Errorf("encode offer %d: %w", o.ID, err)
	}
	sep := ",\n  "
	if ow.n == 0 {
		sep = "[\n  "
	}
	_, _ = ow.out.WriteString(sep)
	_, err := ow.out.Write(bytes.TrimSuffix(ow.elem.Bytes(), []byte("\n")))
	return err
}

// Restart drops everything written since the start and begins again, for a search that starts
// over; false when part of the output has left already and cannot be taken back.
func (ow *offerWriter) Restart() bool {
	if ow.out.written {
		return false
	}
	ow.out.buf = ow.out.buf[:0]
	ow.begin()
	return true
}

// Close writes what follows the last offer and flushes the output.
func (ow *offerWriter) Close() error {
	switch ow.format {
	case "csv":
		ow.csv.Flush()
		if err := ow.csv.Error(); err != nil {
			return err
		}
	case "json":
		end := "\n]\n"
		if ow.n == 0 {
			end = "[]\n"
		}
		_, _ = ow.out.WriteString(end)
	default:
		ow.tab.flush(&ow.out)
		_, _ = ow.out.WriteString(ow.view.closing(ow.n))
	}
	return ow.out.flush()
}

// spoolBlock is how much output gathers before it is written out.
const spoolBlock = 64 << 10

// spool gathers output and writes it in blocks; written reports whether any byte left.
type spool struct {
	w       io.Writer
	buf     []byte
	written bool
	err     error
}

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.buf = append(s.buf, p...)
	if len(s.buf) >= spoolBlock {
		return len(p), s.flush()
	}
	return len(p), nil
}

func (s *spool) WriteString(p string) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.buf = append(s.buf, p...)
	if len(s.buf) >= spoolBlock {
		return len(p), s.flush()
	}
	return len(p), nil
}

func (s *spool) flush() error {
	if s.err != nil || len(s.buf) == 0 {
		return s.err
	}
	s.written = true
	_, s.err = s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return s.err
}

// tableLookahead is how many rows a table reads before it fixes its column widths.
const tableLookahead = 1000

// table lays out rows as text/tabwriter would (cells padded to their column's widest cell plus
// two spaces, the last column unpadded), from the widths of the header and the first
// tableLookahead rows.
type table struct {
	ahead  [][]string // rows held until the widths are fixed
	widths []int      // nil while looking ahead
	line   []byte
}

func (t *table) reset(header []string) {
	clear(t.ahead)
	t.ahead = append(t.ahead[:0], header)
	t.widths = nil
}

func (t *table) add(w io.Writer, row []string) error {
	if t.widths != nil {
		return t.write(w, row)
	}
	t.ahead = append(t.ahead, row)
	if len(t.ahead) <= tableLookahead {
		return nil
	}
	return t.flush(w)
}

// flush fixes the widths if they are not yet and writes the rows held.
func (t *table) flush(w io.Writer) error {
	if t.widths == nil {
		t.widths = make([]int, len(offerHeader)-1)
		for _, row := range t.ahead {
			t.widen(row)
		}
	}
	for i, row := range t.ahead {
		if err := t.write(w, row); err != nil {
			return err
		}
		t.ahead[i] = nil
	}
	t.ahead = t.ahead[:0]
	return nil
}

func (t *table) widen(row []string) {
	for i, w := range t.widths {
		t.widths[i] = max(w, utf8.RuneCountInString(row[i]))
	}
}

func (t *table) write(w io.Writer, row []string) error {
	t.widen(row)
	t.line = t.line[:0]
	for i, cell := range row {
		t.line = append(t.line, cell...)
		if i < len(t.widths) {
			for range t.widths[i] + 2 - utf8.RuneCountInString(cell) {
				t.line = append(t.line, ' ')
			}
		}
	}
	t.line = append(t.line, '\n')
	_, err := w.Write(t.line)
	return err
}
