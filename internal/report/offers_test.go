package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/vastwatch/vastwatch/internal/vastapi"
	"github.com/vastwatch/vastwatch/internal/vastapi/vastapitest"
)

// realOffers decodes the real capture of 1,396 offers (internal/vastapi/testdata).
func realOffers(t *testing.T) []vastapi.Offer {
	t.Helper()
	raw, err := vastapitest.ReadRealOffers(filepath.Join("..", "..", vastapitest.RealSearchPath))
	if err != nil {
		t.Fatal(err)
	}
	offers := make([]vastapi.Offer, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &offers[i]); err != nil {
			t.Fatal(err)
		}
	}
	return offers
}

// wholeList is how search printed before it streamed: the whole list at once, through
// encoding/json, encoding/csv and text/tabwriter.
func wholeList(t *testing.T, format string, offers []vastapi.Offer, storageGB float64) string {
	t.Helper()
	var b bytes.Buffer
	switch format {
	case "json":
		if offers == nil {
			offers = []vastapi.Offer{}
		}
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(offers); err != nil {
			t.Fatal(err)
		}
	case "csv":
		cw := csv.NewWriter(&b)
		_ = cw.Write(offerHeader)
		for i := range offers {
			_ = cw.Write(rowOf(&offers[i]))
		}
		cw.Flush()
	default:
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(offerHeader, "\t"))
		for i := range offers {
			fmt.Fprintln(tw, strings.Join(rowOf(&offers[i]), "\t"))
		}
		_ = tw.Flush()
		fmt.Fprintf(&b, "%d offer%s; prices include %g GB of storage\n", len(offers), Plural(len(offers)), storageGB)
	}
	return b.String()
}

// printAll prints a list through an offerWriter, as SearchOffers prints a search's offers.
func printAll(w io.Writer, format string, offers []vastapi.Offer, storageGB float64) error {
	ow, err := newOfferWriter(w, format, offerView{storage: storageGB})
	if err != nil {
		return err
	}
	for i := range offers {
		if err := ow.Write(&offers[i]); err != nil {
			return err
		}
	}
	return ow.Close()
}

// Streamed output has the bytes of the whole-list output: always for CSV and JSON, and for a
// table of up to tableLookahead rows.
func TestOffersStreamAsTheWholeListPrinted(t *testing.T) {
	all := realOffers(t)
	if len(all) <= tableLookahead {
		t.Fatalf("%d real offers: the table case needs more than %d", len(all), tableLookahead)
	}
	// A name wider than any before it, late in the list: the look-ahead must have seen it.
	all[tableLookahead-1].GPUName = "A GPU name wider than every other"
	for _, format := range []string{"csv", "json", "table"} {
		for _, n := range []int{0, 1, 7, tableLookahead, len(all)} {
			if format == "table" && n > tableLookahead {
				continue // TestTableBeyondTheLookahead
			}
			t.Run(fmt.Sprintf("%s/%d", format, n), func(t *testing.T) {
				var got bytes.Buffer
				if err := printAll(&got, format, all[:n], 20); err != nil {
					t.Fatal(err)
				}
				if want := wholeList(t, format, all[:n], 20); got.String() != want {
					t.Fatalf("%d bytes, want %d; first difference at %d", got.Len(), len(want), firstDiff(got.String(), want))
				}
			})
		}
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Past the look-ahead a table keeps every column aligned and never cuts a cell: a wider cell
// widens its column from its row on.
func TestTableBeyondTheLookahead(t *testing.T) {
	offers := realOffers(t)
	late := tableLookahead + 100
	offers[late].GPUName = "A GPU name wider than every other"
	offers[late].Geolocation = vastapi.Some("Zürich, CH, with a longer place name")
	var b bytes.Buffer
	if err := printAll(&b, "table", offers, 5); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(offers)+2 || lines[len(lines)-1] != fmt.Sprintf("%d offers; prices include 5 GB of storage", len(offers)) {
		t.Fatalf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
	// Each row's cells are where the widths so far put them, and are whole.
	for i, line := range lines[:len(lines)-1] {
		cells := strings.Fields(line)
		if i > 0 && !strings.HasPrefix(line, rowOf(&offers[i-1])[0]+" ") {
			t.Fatalf("line %d: %q", i, line)
		}
		if len(cells) < len(offerHeader) {
			t.Fatalf("line %d has %d cells: %q", i, len(cells), line)
		}
	}
	wide := lines[late+1]
	if !strings.Contains(wide, "  A GPU name wider than every other  ") || !strings.Contains(wide, "Zürich, CH, with a longer place name  ") {
		t.Fatalf("the wide row: %q", wide)
	}
	// The column after the wide name starts further right from that row on.
	before, after := columnStart(lines[late], 2), columnStart(lines[late+2], 2)
	if after <= before || columnStart(lines[late+1], 2) != after {
		t.Fatalf("column 3 starts at %d before the wide row and at %d after it (%d in it)", before, after, columnStart(lines[late+1], 2))
	}
}

// columnStart is where cell i of a table line starts (cells are separated by two spaces or more).
func columnStart(line string, i int) int {
	pos := 0
	for range i {
		next := strings.Index(line[pos:], "  ")
		pos += next
		for pos < len(line) && line[pos] == ' ' {
			pos++
		}
	}
	return pos
}

// fakeSearch replays offers into a writer, failing once after failAfter of them.
type fakeSearch struct {
	offers    []vastapi.Offer
	failAfter int // -1: never
	restarts  int
}

func (f *fakeSearch) SearchOffersStream(_ context.Context, _ vastapi.Query, restart func() bool, fn func(*vastapi.Offer) error) error {
	for attempt := 0; ; attempt++ {
		failed := false
		for i := range f.offers {
			if attempt == 0 && i == f.failAfter {
				failed = true
				break
			}
			o := f.offers[i] // the client reuses one Offer; fn must not keep it
			if err := fn(&o); err != nil {
				return err
			}
		}
		if !failed {
			return nil
		}
		if !restart() {
			return errBroken
		}
		f.restarts++
	}
}

var errBroken = errors.New("vast api POST /api/v0/bundles/: read reply: connection reset by peer")

// A search that breaks before any output left is retried from the start and prints its
// offers once; one that breaks after output left fails and says the output is incomplete.
func TestSearchOffersRestartsOnlyBeforeOutputLeaves(t *testing.T) {
	offers := realOffers(t)
	q := vastapi.Query{AllocatedStorage: vastapi.Some(5.0)}
	for _, format := range []string{"csv", "json", "table"} {
		t.Run(format+"/before the first block", func(t *testing.T) {
			api := &fakeSearch{offers: offers[:20], failAfter: 10}
			var out bytes.Buffer
			if err := SearchOffers(context.Background(), api, q, &out, format); err != nil {
				t.Fatal(err)
			}
			if api.restarts != 1 || out.String() != wholeList(t, format, offers[:20], 5) {
				t.Fatalf("%d restarts; output:\n%s", api.restarts, out.String())
			}
		})
		t.Run(format+"/after the first block", func(t *testing.T) {
			api := &fakeSearch{offers: offers, failAfter: len(offers) - 1}
			var out bytes.Buffer
			err := SearchOffers(context.Background(), api, q, &out, format)
			if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), "the output is incomplete") || api.restarts != 0 {
				t.Fatalf("err %v, %d restarts", err, api.restarts)
			}
			whole := wholeList(t, format, offers, 5)
			if out.Len() == 0 || out.Len() >= len(whole) {
				t.Fatalf("%d bytes written of %d", out.Len(), len(whole))
			}
			if format == "json" && json.Valid(out.Bytes()) {
				t.Fatal("an incomplete JSON array parses")
			}
		})
	}
}

// A write error (a closed pipe) stops the search and is returned.
func TestSearchOffersStopsOnAWriteError(t *testing.T) {
	api := &fakeSearch{offers: realOffers(t), failAfter: -1}
	errClosed := errors.New("write |1: broken pipe")
	w := &failingWriter{after: spoolBlock, err: errClosed}
	err := SearchOffers(context.Background(), api, vastapi.Query{}, w, "json")
	if !errors.Is(err, errClosed) || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("err %v", err)
	}
}

type failingWriter struct {
	after, n int
	err      error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.after {
		return 0, w.err
	}
	w.n += len(p)
	return len(p), nil
}

var _ io.Writer = (*failingWriter)(nil)
