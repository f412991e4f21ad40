package vastapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// One JSON value larger than MaxValueBytes is a clear decode error, not unbounded memory
// (issue 16 item 6): a hostile or broken reply cannot make one offer, one instance or one
// string as large as the whole reply cap.
func TestOneValueLargerThanTheBoundIsADecodeError(t *testing.T) {
	big := strings.Repeat("x", vastapi.MaxValueBytes+1)
	ids := strings.TrimSuffix(strings.Repeat("7,", vastapi.MaxValueBytes/2+1), ",")
	offer := func(i int) string {
		return fmt.Sprintf(`{"id":%d,"machine_id":%d,"gpu_name":"RTX 4090","num_gpus":1,"dph_total":0.4,"dph_base":0.39}`, i, i)
	}
	many := make([]string, 0, 20000)
	for i := 1; i <= cap(many); i++ {
		many = append(many, offer(i))
	}
	instance := func(label string) string {
		return fmt.Sprintf(`{"success":true,"instances":[{"id":1,"label":%q}],"next_token":null}`, label)
	}
	for _, c := range []struct {
		name, search, instances string
		ok                      bool
	}{
		{name: "an offer with a huge string", search: `{"offers":[` + offer(1) + `,{"id":2,"gpu_name":"` + big + `"}]}`},
		{name: "an offer with a huge string inside an unknown key", search: `{"offers":[{"id":2,"junk":"` + big + `"}]}`},
		{name: "an offer with a huge list", search: `{"offers":[{"id":2,"gpu_ids":[` + ids + `]}]}`},
		{name: "a huge message beside the offers", search: `{"offers":[],"msg":"` + big + `"}`},
		{name: "an instance with a huge label", instances: instance(big)},
		{name: "many small offers, together far over the bound", search: `{"offers":[` + strings.Join(many, ",") + `]}`, ok: true},
		{name: "an instance with a label just under the bound", instances: instance(strings.Repeat("y", vastapi.MaxValueBytes-200)), ok: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/json")
				if c.search != "" {
					_, _ = w.Write([]byte(c.search))
					return
				}
				_, _ = w.Write([]byte(c.instances))
			})
			cl := newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.MaxAttempts = 1 })
			var err error
			n := 0
			if c.search != "" {
				err = cl.SearchOffersEach(context.Background(), vastapi.Query{}, func() { n = 0 }, func(*vastapi.Offer) error { n++; return nil })
			} else {
				var ins []vastapi.Instance
				ins, err = cl.ListInstances(context.Background())
				n = len(ins)
			}
			if c.ok {
				if err != nil || n == 0 {
					t.Fatalf("err %v, %d rows", err, n)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "larger than") {
				t.Fatalf("err %v, want a value-too-large error", err)
			}
			if len(err.Error()) > 500 {
				t.Fatalf("the error quotes the input: %d bytes", len(err.Error()))
			}
		})
	}
}
