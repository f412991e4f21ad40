package vastapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// The key must appear nowhere but the Authorization header: not in any log line, error, result
// or URL, even when the server echoes it back in replies and error bodies.
func TestCanaryKeyNeverLeaks(t *testing.T) {
	echo := map[string]func(w http.ResponseWriter, r *http.Request, body []byte){
		"success echoing the key": func(w http.ResponseWriter, r *http.Request, body []byte) {
			switch {
			case strings.HasPrefix(r.URL.Path, "/api/v0/users/current"):
				writeJSON(w, 200, `{"id":1,"credit":3,"api_key":"`+testKey+`","username":"u"}`)
			case r.URL.Path == "/api/v0/bundles/":
				writeJSON(w, 200, `{"offers":[{"id":1,"public_ipaddr":"1.1.1.1"}],"api_key":"`+testKey+`"}`)
			case strings.HasPrefix(r.URL.Path, "/api/v0/asks/"):
				writeJSON(w, 200, `{"success":true,"new_contract":5,"instance_api_key":"`+testKey+`"}`)
			case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/api/v0/instances/") && r.URL.Path != "/api/v0/instances/":
				writeJSON(w, 200, `{"instances":{"id":5,"jupyter_token":"`+testKey+`"}}`)
			case r.Method == "GET":
				writeJSON(w, 200, `{"instances":[{"id":5,"jupyter_token":"`+testKey+`"}],"next_token":null}`)
			default:
				writeJSON(w, 200, `{"success":true,"msg":"done for `+testKey+`"}`)
			}
		},
		"JSON error echoing the key": func(w http.ResponseWriter, r *http.Request, _ []byte) {
			writeJSON(w, 400, `{"success":false,"error":"bad_`+testKey+`","msg":"key `+testKey+` is not allowed","detail":"`+testKey+`"}`)
		},
		"200 success false echoing the key": func(w http.ResponseWriter, r *http.Request, _ []byte) {
			writeJSON(w, 200, `{"success":false,"error":"auth_error","message":"Invalid user key `+testKey+`"}`)
		},
		"plain-text 429 echoing the key": func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.WriteHeader(429)
			fmt.Fprintf(w, "API requests too frequent for key %s endpoint threshold=1.0", testKey)
		},
		"5xx echoing the key": func(w http.ResponseWriter, r *http.Request, _ []byte) {
			writeJSON(w, 503, `{"detail":"upstream rejected Bearer `+testKey+`"}`)
		},
		"malformed reply echoing the key": func(w http.ResponseWriter, r *http.Request, _ []byte) {
			writeJSON(w, 200, `{"offers":[{"id":"`+testKey+`"}],"instances":{"id":"`+testKey+`"},"id":"`+testKey+`","success":"`+testKey+`"`)
		},
	}
	for name, handler := range echo {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, handler)
			c := newClient(t, srv.URL, func(cfg *vastapi.Config) { cfg.MaxAttempts = 2 })
			var printed []string
			failures := 0
			ctx := context.Background()
			record := func(v any, err error) {
				b, _ := json.Marshal(v)
				printed = append(printed, fmt.Sprintf("%v", v), fmt.Sprintf("%+v", v), fmt.Sprintf("%#v", v), string(b))
				if err != nil {
					failures++
					printed = append(printed, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
				}
			}
			u, err := c.CurrentUser(ctx)
			record(u, err)
			offers, err := c.SearchOffers(ctx, vastapi.Query{})
			record(offers, err)
			cr, err := c.CreateInstance(ctx, 9, vastapi.CreateRequest{Image: "x", Env: map[string]string{"A": "b"}})
			record(cr, err)
			list, err := c.ListInstances(ctx)
			record(list, err)
			list0, err := c.ListInstancesV0(ctx)
			record(list0, err)
			in, err := c.ShowInstance(ctx, 5)
			record(in, err)
			record(nil, c.DestroyInstance(ctx, 5))
			record(nil, c.SetInstanceState(ctx, 5, "running"))
			record(nil, c.SetLabel(ctx, 5, "l"))
			record(nil, c.ChangeBid(ctx, 5, 0.2))

			// Positive control: the test can see the key where it is, and it has output to search.
			reqs := srv.requests()
			if len(reqs) < len(allCalls) {
				t.Fatalf("only %d requests reached the server", len(reqs))
			}
			if got := reqs[0].Header.Get("Authorization"); got != "Bearer "+testKey {
				t.Fatalf("the key did not travel in the Authorization header: %q", got)
			}
			if c.logs.Len() == 0 || strings.Count(c.logs.String(), "vast api request") < len(reqs) {
				t.Fatalf("debug log has fewer lines than requests:\n%s", c.logs)
			}
			if name != "success echoing the key" && failures != len(allCalls) {
				t.Fatalf("%d of %d calls failed; every one should", failures, len(allCalls))
			}
			if !strings.Contains(strings.Join(printed, "\n")+testKey, testKey) {
				t.Fatal("canary search is broken")
			}

			for _, p := range printed {
				if strings.Contains(p, testKey) {
					t.Errorf("result or error carries the key: %s", p)
				}
			}
			if strings.Contains(c.logs.String(), testKey) {
				t.Errorf("log carries the key:\n%s", c.logs)
			}
			for _, r := range reqs {
				if strings.Contains(r.URL, testKey) || strings.Contains(string(r.Body), testKey) {
					t.Errorf("request %s carries the key outside the header", r.URL)
				}
				for h, vs := range r.Header {
					if h != "Authorization" && strings.Contains(strings.Join(vs, " "), testKey) {
						t.Errorf("header %s carries the key", h)
					}
				}
			}
		})
	}
}
