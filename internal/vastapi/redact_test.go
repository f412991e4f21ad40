package vastapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Text from the server is scrubbed of every value given to Redact, as of the key, in the error
// and in the debug log; a later Redact replaces the set.
func TestRepliesAreScrubbedOfRedactedValues(t *testing.T) {
	const login, token = "-u deploy -p registry-pass-4711", "app-token-0815-secret"
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"success":false,"error":"invalid_args","msg":"echo: ` +
			strings.ReplaceAll(string(body), `"`, `'`) + ` key ` + testKey + `"}`))
	})
	cl := newClient(t, srv.URL)
	cl.Redact([]string{login, "registry-pass-4711", token, "ab"})
	req := vastapi.CreateRequest{Image: "img", DiskGB: 10, ImageLogin: login, Env: map[string]string{"TOKEN": token, "X": "ab"}}
	_, err := cl.CreateInstance(context.Background(), 7, req)
	if err == nil || !strings.Contains(err.Error(), "echo:") {
		t.Fatalf("positive control: err %v", err)
	}
	for _, secret := range []string{login, "registry-pass-4711", token, testKey} {
		if strings.Contains(err.Error(), secret) || strings.Contains(cl.logs.String(), secret) {
			t.Errorf("the error or the log carries %q: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), `'X':'ab'`) {
		t.Errorf("a value under 4 bytes was scrubbed, mangling the text: %v", err)
	}
	cl.Redact(nil)
	_, err = cl.CreateInstance(context.Background(), 7, req)
	if err == nil || !strings.Contains(err.Error(), token) {
		t.Fatalf("after Redact(nil) the old values are still scrubbed: %v", err)
	}
}
