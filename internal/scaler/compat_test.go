package scaler_test

import (
	"bytes"
	"io"
	"net/http"
)

// patchRT works around a disagreement between the simulator and the client that is not the
// scaler's to fix: vastsim sends users/current's billing_creditonly as the number 0, and the
// client's decoder wants a boolean, so every observation would fail. When either side changes,
// this rewrite matches nothing and becomes a no-op.
type patchRT struct{ next http.RoundTripper }

func (p patchRT) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte(`"billing_creditonly":0`), []byte(`"billing_creditonly":false`))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return resp, nil
}
