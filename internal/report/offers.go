package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

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
	loc := strings.TrimSpace(o.Geolocation.Or(""))
	if loc == "" {
		loc = "-"
	}
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

// Offers prints offers in the order the API returned them. Prices are dph_total, which the
// API computed for the query's allocated_storage (storageGB).
func Offers(w io.Writer, format string, offers []vastapi.Offer, storageGB float64) error {
	switch format {
	case "json":
		if offers == nil {
			offers = []vastapi.Offer{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(offers)
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(offerHeader); err != nil {
			return err
		}
		for i := range offers {
			if err := cw.Write(rowOf(&offers[i])); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(offerHeader, "\t"))
	for i := range offers {
		fmt.Fprintln(tw, strings.Join(rowOf(&offers[i]), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d offer%s; prices include %g GB of storage\n", len(offers), Plural(len(offers)), storageGB)
	return err
}
