package vastsim

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall"
)

// Transport returns an in-process http.RoundTripper onto the simulator: no sockets, so tests run
// the real client on a fake clock. Faults that drop the connection (reset, lost reply) surface
// as transport errors wrapping syscall.ECONNRESET, as a real reset does.
func (s *Sim) Transport() http.RoundTripper { return transport{s} }

type transport struct{ s *Sim }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if req.Body == nil {
		req.Body = http.NoBody
	}
	defer req.Body.Close()
	rep := t.s.serve(req)
	body := bytes.Clone(rep.body)
	rep.release()
	if rep.abort {
		if err := req.Context().Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errAbort, syscall.ECONNRESET)
	}
	h := http.Header{}
	if rep.ctype != "" {
		h.Set("Content-Type", rep.ctype)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", rep.status, http.StatusText(rep.status)),
		StatusCode:    rep.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}
