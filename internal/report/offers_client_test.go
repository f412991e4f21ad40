package report

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// noWait is the wall clock whose sleeps (the client's backoff) return at once.
type noWait struct{ clock.Real }

func (noWait) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// With the real client: a reply that breaks mid-way is retried when nothing was printed yet,
// and ends the search with an error when part of the output has left.
func TestSearchOffersThroughTheClient(t *testing.T) {
	offers := realOffers(t)
	body, err := json.Marshal(map[string]any{"offers": offers})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		breakAt int // bytes of the first reply sent before the connection is reset
		wantErr bool
	}{
		{"broken after a few offers", 20_000, false},
		{"broken after a few blocks of output", len(body) - 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if calls.Add(1) > 1 {
					_, _ = w.Write(body)
					return
				}
				_, _ = w.Write(body[:tc.breakAt])
				w.(http.Flusher).Flush()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					panic(err)
				}
				_ = conn.(*net.TCPConn).SetLinger(0)
				_ = conn.Close()
			}))
			defer srv.Close()
			c, err := vastapi.New(vastapi.Config{BaseURL: srv.URL, Clock: noWait{}, Pacing: map[string]time.Duration{}})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err = SearchOffers(context.Background(), c, vastapi.Query{}, &out, "json")
			whole := wholeList(t, "json", offers, 0)
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), "output is incomplete") || calls.Load() != 1):
				t.Fatalf("err %v after %d requests", err, calls.Load())
			case tc.wantErr && (out.Len() == 0 || !strings.HasPrefix(whole, out.String())):
				t.Fatalf("%d bytes printed, not a prefix of the whole output", out.Len())
			case !tc.wantErr && (err != nil || calls.Load() != 2 || out.String() != whole):
				t.Fatalf("err %v after %d requests; %d bytes printed, want %d", err, calls.Load(), out.Len(), len(whole))
			}
		})
	}
}
