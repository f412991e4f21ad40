package vastapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// call names a client method run with fixed arguments.
type call struct {
	name string
	run  func(context.Context, *vastapi.Client) error
}

var (
	callUser   = call{"current user", func(ctx context.Context, c *vastapi.Client) error { _, err := c.CurrentUser(ctx); return err }}
	callSearch = call{"search", func(ctx context.Context, c *vastapi.Client) error {
		_, err := c.SearchOffers(ctx, vastapi.Query{Limit: 5})
		return err
	}}
	callCreate = call{"create", func(ctx context.Context, c *vastapi.Client) error {
		_, err := c.CreateInstance(ctx, 456, vastapi.CreateRequest{Image: "img"})
		return err
	}}
	callListV1  = call{"list v1", func(ctx context.Context, c *vastapi.Client) error { _, err := c.ListInstances(ctx); return err }}
	callListV0  = call{"list v0", func(ctx context.Context, c *vastapi.Client) error { _, err := c.ListInstancesV0(ctx); return err }}
	callShow    = call{"show", func(ctx context.Context, c *vastapi.Client) error { _, err := c.ShowInstance(ctx, 123); return err }}
	callDestroy = call{"destroy", func(ctx context.Context, c *vastapi.Client) error { return c.DestroyInstance(ctx, 123) }}
	callState   = call{"stop", func(ctx context.Context, c *vastapi.Client) error { return c.SetInstanceState(ctx, 123, "stopped") }}
	callLabel   = call{"label", func(ctx context.Context, c *vastapi.Client) error { return c.SetLabel(ctx, 123, "l") }}
	callBid     = call{"change bid", func(ctx context.Context, c *vastapi.Client) error { return c.ChangeBid(ctx, 123, 0.3) }}
	allCalls    = []call{callUser, callSearch, callCreate, callListV1, callListV0, callShow, callDestroy, callState, callLabel, callBid}
)

// Every error shape of docs/vast-api.md §1/§3/§4 becomes a typed error with the right predicates.
func TestErrorShapes(t *testing.T) {
	type want struct {
		status          int
		code, msg       string
		askID           int64
		created         int64 // CreatedInstanceID; 0: none
		auth, rateLimit bool
		taken, gone     bool
	}
	cases := []struct {
		name   string
		call   call
		status int
		ctype  string
		body   string
		want   want
	}{
		{"401 invalid key", callUser, 401, "", `{"success":false,"error":"auth_error","msg":"Invalid user key"}`,
			want{status: 401, code: "auth_error", msg: "Invalid user key", auth: true}},
		{"403 without login", callListV1, 403, "", `{"success":false,"error":"auth_error","msg":"This action requires login."}`,
			want{status: 403, code: "auth_error", msg: "This action requires login.", auth: true}},
		{"404 invalid key on bundles is auth", callSearch, 404, "", `{"success":false,"msg":"Invalid user key"}`,
			want{status: 404, msg: "Invalid user key", auth: true}},
		{"404 expired session is auth", callShow, 404, "", `{"msg":"Session expired. Please log in again."}`,
			want{status: 404, msg: "Session expired. Please log in again.", auth: true}},
		{"429 plain text", callCreate, 429, "text/plain", "API requests too frequent endpoint threshold=4.5\n",
			want{status: 429, msg: "API requests too frequent endpoint threshold=4.5", rateLimit: true}},
		{"429 detail JSON", callShow, 429, "", `{"detail":"API requests too frequent endpoint threshold=2.0"}`,
			want{status: 429, msg: "API requests too frequent endpoint threshold=2.0", rateLimit: true}},
		{"429 rate_limit_exceeded JSON", callBid, 429, "", `{"success":false,"error":"rate_limit_exceeded","msg":"slow down"}`,
			want{status: 429, code: "rate_limit_exceeded", msg: "slow down", rateLimit: true}},
		{"message-only body", callLabel, 400, "", `{"message":"label_too_long"}`,
			want{status: 400, msg: "label_too_long"}},
		{"200 with success false", callState, 200, "", `{"success":false,"error":"missing_billing","msg":"add a card"}`,
			want{status: 200, code: "missing_billing", msg: "add a card"}},
		{"search 200 with success false", callSearch, 200, "", `{"success":false,"error":"invalid_request","msg":"bad column"}`,
			want{status: 200, code: "invalid_request", msg: "bad column"}},
		{"404 no_such_ask with ask_id", callCreate, 404, "", `{"success":false,"error":"invalid_args","msg":"error 404/3603: no_such_ask Instance type by id 456 is not available.","ask_id":456}`,
			want{status: 404, code: "invalid_args", msg: "error 404/3603: no_such_ask Instance type by id 456 is not available.", askID: 456, taken: true}},
		{"410 no_such_ask", callCreate, 410, "", `{"success":false,"error":"no_such_ask","msg":"Instance type by id 456 is no longer available."}`,
			want{status: 410, code: "no_such_ask", msg: "Instance type by id 456 is no longer available.", taken: true}},
		{"400 invalid_args", callCreate, 400, "", `{"success":false,"error":"invalid_args","msg":"disk must be >= 8"}`,
			want{status: 400, code: "invalid_args", msg: "disk must be >= 8"}},
		{"400 invalid_price", callBid, 400, "", `{"success":false,"error":"invalid_price","msg":"price out of range"}`,
			want{status: 400, code: "invalid_price", msg: "price out of range"}},
		{"create success false with new_contract", callCreate, 200, "", `{"success":false,"error":"invalid_price","msg":"bid below min","new_contract":777}`,
			want{status: 200, code: "invalid_price", msg: "bid below min", created: 777}},
		{"create 400 with new_contract", callCreate, 400, "", `{"success":false,"msg":"bid too low","new_contract":"778"}`,
			want{status: 400, msg: "bid too low", created: 778}},
		{"destroy 200 no_such_instance is gone", callDestroy, 200, "", `{"success":false,"error":"no_such_instance"}`,
			want{status: 200, code: "no_such_instance", gone: true}},
		{"destroy 404 no_such_instance is gone", callDestroy, 404, "", `{"success":false,"error":"no_such_instance","msg":"Instance 123 not found"}`,
			want{status: 404, code: "no_such_instance", msg: "Instance 123 not found", gone: true}},
		{"destroy 404 not_found is gone", callDestroy, 404, "", `{"success":false,"error":"not_found"}`,
			want{status: 404, code: "not_found", gone: true}},
		{"v1 bad token", callListV1, 400, "", `{"success":false,"error":"invalid_token","msg":"bad after_token"}`,
			want{status: 400, code: "invalid_token", msg: "bad after_token"}},
		{"FastAPI detail list", callSearch, 422, "", `{"detail":[{"loc":["body"],"msg":"field required"}]}`,
			want{status: 422, msg: `[{"loc":["body"],"msg":"field required"}]`}},
		{"HTML error page", callLabel, 400, "text/html", "<html><body>Bad Request</body></html>",
			want{status: 400, msg: "non-JSON reply (HTML page)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				ct := tc.ctype
				if ct == "" {
					ct = "application/json"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			})
			c := newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.MaxAttempts = 1 })
			err := tc.call.run(context.Background(), c.Client)
			var ae *vastapi.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			w := tc.want
			if ae.Status != w.status || ae.Code != w.code || ae.Msg != w.msg || ae.AskID != w.askID {
				t.Fatalf("APIError %+v, want status %d code %q msg %q ask %d", ae, w.status, w.code, w.msg, w.askID)
			}
			if ae.Method != srv.requests()[0].Method || !strings.HasPrefix(ae.Endpoint, "/api/") || strings.Contains(ae.Endpoint, "123") || strings.Contains(ae.Endpoint, "456") {
				t.Fatalf("APIError names %s %s, want the method and the endpoint template", ae.Method, ae.Endpoint)
			}
			id, created := vastapi.CreatedInstanceID(err)
			if (w.created != 0) != created || id != w.created {
				t.Errorf("CreatedInstanceID = %d, %v; want %d", id, created, w.created)
			}
			for name, pair := range map[string][2]bool{
				"IsAuth":           {vastapi.IsAuth(err), w.auth},
				"IsRateLimited":    {vastapi.IsRateLimited(err), w.rateLimit},
				"IsOfferTaken":     {vastapi.IsOfferTaken(err), w.taken},
				"IsGone":           {vastapi.IsGone(err), w.gone},
				"IsOutcomeUnknown": {vastapi.IsOutcomeUnknown(err), false},
			} {
				if pair[0] != pair[1] {
					t.Errorf("%s = %v, want %v (err %v)", name, pair[0], pair[1], err)
				}
			}
		})
	}
}

// A 2xx reply that is not the JSON it should be is a clear error for every method, never a
// panic and never a success.
func TestGarbageRepliesAreClearErrors(t *testing.T) {
	bodies := map[string]string{
		"empty":        "",
		"HTML":         "<html>oops</html>",
		"truncated":    `{"offers":[{"id":1,`,
		"wrong type":   `{"offers":{"id":1},"instances":"x","id":"abc","credit":{},"success":"maybe"}`,
		"binary":       "\x00\x01\x02\xff",
		"trailing":     `{"success":true} {"success":true}`,
		"deep nesting": strings.Repeat("[", 5000),
	}
	for name, body := range bodies {
		for _, cl := range allCalls {
			t.Run(name+"/"+cl.name, func(t *testing.T) {
				srv := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { writeJSON(w, 200, body) })
				c := newClient(t, srv.URL)
				err := cl.run(context.Background(), c.Client)
				if err == nil {
					// A mutation may legitimately read an empty 200 as success.
					if name == "empty" && (cl.name == "destroy" || cl.name == "stop" || cl.name == "label" || cl.name == "change bid") {
						return
					}
					t.Fatalf("garbage %q accepted", name)
				}
				if cl.name == "create" && !vastapi.IsOutcomeUnknown(err) {
					t.Fatalf("an unreadable create reply must be outcome-unknown, got %v", err)
				}
				if n := len(srv.requests()); n != 1 {
					t.Fatalf("a malformed reply was retried: %d requests", n)
				}
			})
		}
	}
}
