package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks' load generator: closed-loop scrapers, each on a connection of its own kept
// alive from one scrape to the next, as a Prometheus keeps its own.
//
// It has two clients, because the scrapers share the daemon's CPUs and what a client spends is
// taken from the server it measures. clientWire stands in for scrapers on other machines, as
// a Prometheus usually is: a lean HTTP/1.1 client of its own that writes one fixed request,
// reads the status line and headers, and reads and drops the Content-Length bytes of body
// through a 64 KiB buffer, gzipped or not. clientNetHTTP is a Prometheus on the same machine:
// Go's net/http client, which spends on every exchange a request, a header map and hand-offs
// between three goroutines (the caller's and the connection's reader and writer), reading each
// reply into a buffer of its own kept from one scrape to the next, and gunzipping it if asked.
const (
	clientWire    = "wire"
	clientNetHTTP = "net-http"
)

// scrapeTimeout bounds each scrape of the load generator.
const scrapeTimeout = time.Minute

// scrapeFunc makes one scrape and returns the bytes of body it read (decoded, if asked).
type scrapeFunc func() (int64, error)

// scrapeLoad makes n scrapes of rawURL with the given Accept-Encoding from closed-loop scrapers
// using client, and returns the latencies and the bytes read of the n counted scrapes.
func scrapeLoad(client, rawURL, enc string, decode bool, scrapers, n int) ([]time.Duration, int64, error) {
	lat := make([]time.Duration, n)
	var next, read atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) { firstErr.CompareAndSwap(nil, err) }
	var wg sync.WaitGroup
	for range scrapers {
		wg.Go(func() {
			scrape, closeScraper, err := newScraper(client, rawURL, enc, decode)
			if err != nil {
				fail(err)
				return
			}
			defer closeScraper()
			// A first scrape, not counted, opens the connection and grows the buffer, as a
			// Prometheus has both from its last scrape: 20 cold starts in 1,000 scrapes would
			// be 2% of them, and set the p99.
			if _, err := scrape(); err != nil {
				fail(err)
				return
			}
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				t0 := time.Now()
				got, err := scrape()
				lat[i] = time.Since(t0)
				if err != nil {
					fail(err)
					return
				}
				read.Add(got)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, 0, err
	}
	return lat, read.Load(), nil
}

// newScraper returns one scraper's scrape function and what closes its connection.
func newScraper(client, rawURL, enc string, decode bool) (scrapeFunc, func(), error) {
	switch client {
	case clientWire:
		if decode {
			return nil, nil, errors.New("load generator: the wire client does not gunzip; net/http does, as Prometheus")
		}
		s, err := dialWire(rawURL, enc)
		if err != nil {
			return nil, nil, err
		}
		return s.scrape, func() { s.conn.Close() }, nil
	case clientNetHTTP:
		c := &http.Client{Timeout: scrapeTimeout, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
		var buf bytes.Buffer
		zr := new(gzip.Reader)
		return func() (int64, error) { return scrapeOnce(c, rawURL, enc, decode, &buf, zr) }, c.CloseIdleConnections, nil
	}
	return nil, nil, fmt.Errorf("load generator: no client %q", client)
}

// scrapeOnce makes one scrape with Go's net/http client into buf.
func scrapeOnce(client *http.Client, rawURL, enc string, decode bool, buf *bytes.Buffer, zr *gzip.Reader) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept-Encoding", enc)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape: status %d", resp.StatusCode)
	}
	if (resp.Header.Get("Content-Encoding") == "gzip") != (enc == "gzip") {
		return 0, fmt.Errorf("scrape with Accept-Encoding %s: Content-Encoding %q", enc, resp.Header.Get("Content-Encoding"))
	}
	buf.Reset()
	var body io.Reader = resp.Body
	if decode {
		if err := zr.Reset(resp.Body); err != nil {
			return 0, err
		}
		body = zr
	}
	return buf.ReadFrom(body)
}

// wireScraper is the lean client: one connection, one request's bytes, one 64 KiB buffer.
type wireScraper struct {
	conn net.Conn
	br   *bufio.Reader
	req  []byte
	enc  string
}

func dialWire(rawURL, enc string) (*wireScraper, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("wire scraper: %s: only http", rawURL)
	}
	conn, err := net.DialTimeout("tcp", u.Host, scrapeTimeout)
	if err != nil {
		return nil, err
	}
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAccept-Encoding: " + enc + "\r\n\r\n"
	return &wireScraper{conn: conn, br: bufio.NewReaderSize(conn, 64<<10), req: []byte(req), enc: enc}, nil
}

// scrape sends the request and reads the whole reply; a reply the client cannot keep its
// connection open after (no Content-Length, Connection: close) is an error.
func (s *wireScraper) scrape() (int64, error) {
	if err := s.conn.SetDeadline(time.Now().Add(scrapeTimeout)); err != nil {
		return 0, err
	}
	if _, err := s.conn.Write(s.req); err != nil {
		return 0, err
	}
	n, err := s.readHead()
	if err != nil {
		return 0, err
	}
	got, err := s.br.Discard(n)
	return int64(got), err
}

// readHead reads the status line and headers and returns the Content-Length.
func (s *wireScraper) readHead() (int, error) {
	status, err := s.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return 0, fmt.Errorf("wire scraper: status line %q", bytes.TrimSpace(status))
	}
	length, encoding := -1, ""
	for {
		line, err := s.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("wire scraper: header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case headerIs(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, fmt.Errorf("wire scraper: Content-Length %q", value)
			}
		case headerIs(name, "Content-Encoding"):
			encoding = string(value)
		case headerIs(name, "Connection"), headerIs(name, "Transfer-Encoding"):
			return 0, fmt.Errorf("wire scraper: %s: %s; it needs a kept-alive connection and a Content-Length", name, value)
		}
	}
	if length < 0 {
		return 0, errors.New("wire scraper: no Content-Length")
	}
	if (encoding == "gzip") != (s.enc == "gzip") {
		return 0, fmt.Errorf("wire scraper: Accept-Encoding %s: Content-Encoding %q", s.enc, encoding)
	}
	return length, nil
}

func headerIs(name []byte, canonical string) bool { return bytes.EqualFold(name, []byte(canonical)) }

func TestWireScraperReadsEveryReplyOverOneConnection(t *testing.T) {
	body := bytes.Repeat([]byte("vast_offer_dph_dollars 0.25\n"), 10_000)
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "identity" {
			t.Errorf("Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	lat, read, err := scrapeLoad(clientWire, srv.URL+"/metrics", "identity", false, 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != 10 || read != int64(10*len(body)) {
		t.Errorf("%d scrapes, %d bytes read; want 10 and %d", len(lat), read, 10*len(body))
	}
	if conns.Load() != 2 {
		t.Errorf("%d connections for 2 scrapers; want one each, kept alive", conns.Load())
	}
}

func TestWireScraperRefusesWhatItCannotRead(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"status 500": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusInternalServerError) },
		"chunked": func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("b"))
		},
		"gzip not asked for": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", "1")
			_, _ = w.Write([]byte("x"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			if _, _, err := scrapeLoad(clientWire, srv.URL+"/metrics", "identity", false, 1, 1); err == nil {
				t.Error("no error")
			}
		})
	}
}
