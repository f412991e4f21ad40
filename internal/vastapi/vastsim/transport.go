package vastsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"syscall"
)

// Transport returns an in-process http.RoundTripper onto the simulator: no sockets, so tests run
// the real client on a fake clock. Faults that drop the connection (reset, lost reply) surface
// as transport errors wrapping syscall.ECONNRESET, as a real reset does. A large search reply
// is streamed through a pipe, encoded as the client reads it, so it never exists whole in
// memory; ending the request's context fails its body's reads.
func (s *Sim) Transport() http.RoundTripper { return transport{s} }

type transport struct{ s *Sim }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Body == nil {
		req.Body = http.NoBody
	}
	defer req.Body.Close()
	rep := t.s.serve(req)
	if rep.abort {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errAbort, syscall.ECONNRESET)
	}
	h := http.Header{}
	if rep.ctype != "" {
		h.Set("Content-Type", rep.ctype)
	}
	res := &http.Response{
		Status:     fmt.Sprintf("%d %s", rep.status, http.StatusText(rep.status)),
		StatusCode: rep.status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Request:    req,
	}
	if rep.stream == nil {
		h.Set("Content-Length", strconv.Itoa(len(rep.body)))
		res.Body, res.ContentLength = io.NopCloser(bytes.NewReader(rep.body)), int64(len(rep.body))
		return res, nil
	}
	st := rep.stream
	pr, pw := io.Pipe()
	stop := context.AfterFunc(ctx, func() {
		st.close()
		pw.CloseWithError(ctx.Err())
	})
	go func() {
		defer stop()
		_, err := pw.Write(rep.body)
		if err == nil {
			err = st.writeTo(pw)
		}
		st.close()
		if errors.Is(err, errAbort) {
			err = fmt.Errorf("%w: %w", err, syscall.ECONNRESET)
		}
		if errors.Is(err, errStreamClosed) && ctx.Err() != nil {
			err = ctx.Err()
		}
		pw.CloseWithError(err) // nil: the reader sees EOF
	}()
	res.Body, res.ContentLength = streamBody{pr, st}, -1
	return res, nil
}

// streamBody is a streamed reply's body: closing it releases the reply at once, before the
// writer notices the closed pipe.
type streamBody struct {
	*io.PipeReader
	st *searchStream
}

func (b streamBody) Close() error {
	b.st.close()
	return b.PipeReader.Close()
}
