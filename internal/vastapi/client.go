package vastapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// Config configures a Client. Only BaseURL is required.
type Config struct {
	BaseURL    string       // e.g. https://console.vast.ai; the /api/v0 paths are appended
	Key        Secret       // sent only as "Authorization: Bearer"; empty: no header (search works anonymously)
	HTTPClient *http.Client // nil: a default one with DefaultTimeout
	Clock      clock.Clock  // nil: clock.Real{}
	UserAgent  string       // default "vastwatch/dev"; callers pass "vastwatch/<version>"
	// Logger gets one Debug line per attempt (method, endpoint template, status, duration,
	// attempt). nil: discard.
	Logger *slog.Logger
	// Observe is called once per attempt; nil is fine.
	Observe func(RequestInfo)
	// Pacing is the minimum spacing per "METHOD template". nil: DefaultPacing; an empty non-nil
	// map: no pacing.
	Pacing map[string]time.Duration
	// MaxAttempts bounds the attempts of a retryable call (default 5).
	MaxAttempts int
	// MaxBackoff caps one backoff wait (default 30s). Backoff is exponential with full jitter.
	MaxBackoff time.Duration
	// Rand is the jitter source (math/rand/v2); nil: seeded from the time.
	Rand *rand.Rand
	// MaxBodyBytes caps a non-search reply (default 8 MiB). Search replies are streamed and capped
	// at MaxSearchBodyBytes.
	MaxBodyBytes int64
	// FailFast is for one-shot commands, where a person waits: a connection that cannot be
	// opened (refused, no such host) fails at once instead of being retried, and with no
	// HTTPClient given, opening one gives up after DialTimeout. IsUnreachable tells such errors.
	FailFast bool
}

// Defaults of Config.
const (
	DefaultTimeout      = 2 * time.Minute
	DefaultUserAgent    = "vastwatch/dev"
	DefaultMaxAttempts  = 5
	DefaultMaxBackoff   = 30 * time.Second
	DefaultMaxBodyBytes = 8 << 20
	// DialTimeout bounds opening a connection with FailFast.
	DialTimeout = 10 * time.Second
	// MaxSearchBodyBytes caps a streamed search reply: a full market is ~77 MB.
	MaxSearchBodyBytes = 1 << 30
	// baseBackoff is the first backoff ceiling; it doubles per attempt up to MaxBackoff.
	baseBackoff = 500 * time.Millisecond
)

// Client is a typed, paced, retrying client of the Vast.ai REST API. It is safe for concurrent
// use. The API key leaves it only in the Authorization header.
type Client struct {
	base        string
	key         Secret
	hc          *http.Client
	clock       clock.Clock
	ua          string
	log         *slog.Logger
	observe     func(RequestInfo)
	pacer       *pacer
	maxAttempts int
	maxBackoff  time.Duration
	maxBody     int64
	failFast    bool
	hints       sizeHints // offers each search last returned, to size the next reply's list
	// redact holds the secret values besides the key that text from the server is scrubbed of
	// (Redact); nil until set.
	redact atomic.Pointer[[]string]

	rndMu sync.Mutex
	rnd   *rand.Rand
}

// New checks cfg and builds a Client.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	base = strings.TrimSuffix(base, "/api/v0")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("vastapi: base URL must be http(s)://host[/prefix]")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("vastapi: base URL must not carry a query, fragment or credentials (the key goes in the Authorization header)")
	}
	key := cfg.Key.Reveal()
	if strings.ContainsAny(key, "\r\n \t") {
		return nil, fmt.Errorf("vastapi: API key contains whitespace or control characters")
	}
	if key != "" && strings.Contains(base, key) {
		return nil, fmt.Errorf("vastapi: base URL must not contain the API key")
	}
	c := &Client{
		base:        base,
		key:         cfg.Key,
		hc:          cfg.HTTPClient,
		clock:       cfg.Clock,
		ua:          cfg.UserAgent,
		log:         cfg.Logger,
		observe:     cfg.Observe,
		maxAttempts: cfg.MaxAttempts,
		maxBackoff:  cfg.MaxBackoff,
		maxBody:     cfg.MaxBodyBytes,
		rnd:         cfg.Rand,
		failFast:    cfg.FailFast,
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: DefaultTimeout}
		if c.failFast {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.DialContext = (&net.Dialer{Timeout: DialTimeout}).DialContext
			c.hc.Transport = tr
		}
	}
	if c.clock == nil {
		c.clock = clock.Real{}
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxBackoff
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.rnd == nil {
		now := uint64(time.Now().UnixNano())
		c.rnd = rand.New(rand.NewPCG(now, now>>17|1))
	}
	pacing := cfg.Pacing
	if pacing == nil {
		pacing = DefaultPacing
	}
	c.pacer = newPacer(c.clock, pacing)
	return c, nil
}

// BaseURL is the API's address as the client reaches it (it never carries credentials).
func (c *Client) BaseURL() string { return c.base }

// kind is how a request may be retried.
type kind uint8

const (
	// kindRead: no effect on the server; retried on 429, every 5xx, timeouts and resets.
	kindRead kind = iota
	// kindIdempotent: a repeat has the same effect (destroy, state, label, bid); retried on 429,
	// 502/503/504, timeouts and resets.
	kindIdempotent
	// kindCreate: a repeat may rent twice; retried only when certainly not applied (429, or a
	// connection that never opened).
	kindCreate
)

// request is one logical call.
type request struct {
	method string
	tmpl   string // endpoint template: logged, observed, paced
	path   string // real path and query; never logged
	body   []byte // nil: no body
	kind   kind
}

func (r *request) name() string { return r.method + " " + r.tmpl }

// outcome is the result of one attempt.
type outcome struct {
	status     int
	err        error
	retry      bool
	retryAfter time.Duration // from a Retry-After header; 0 when absent
	floor      time.Duration // a minimum wait the reply suggested (a 429's threshold)
}

// onOK handles a 2xx reply; it returns an outcome for errors and nil err on success.
type onOK func(resp *http.Response) outcome

// do runs rq with pacing and retries until it succeeds, fails for good, or ctx ends.
func (c *Client) do(ctx context.Context, rq *request, ok onOK) error {
	var last outcome
	for attempt := 1; ; attempt++ {
		if err := c.pacer.wait(ctx, rq.name()); err != nil {
			return c.gaveUp(rq, err, last.err)
		}
		start := c.clock.Now()
		out := c.attempt(ctx, rq, ok)
		c.record(rq, attempt, out, c.clock.Now().Sub(start))
		if out.err == nil {
			return nil
		}
		last = out
		if !out.retry {
			return out.err
		}
		if ctx.Err() != nil {
			return c.gaveUp(rq, ctx.Err(), out.err)
		}
		if attempt >= c.maxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, out.err)
		}
		wait, willWait := c.backoff(attempt, out)
		if !willWait {
			return fmt.Errorf("server asked to wait %s, longer than this client waits: %w", out.retryAfter, out.err)
		}
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return c.gaveUp(rq, err, out.err)
		}
	}
}

// gaveUp wraps a context error, keeping the last attempt's error visible to errors.As.
func (c *Client) gaveUp(rq *request, ctxErr, last error) error {
	if last == nil {
		return fmt.Errorf("vast api %s: %w", rq.name(), ctxErr)
	}
	return fmt.Errorf("%w; last attempt: %w", ctxErr, last)
}

// attempt sends rq once and classifies what came back.
func (c *Client) attempt(ctx context.Context, rq *request, ok onOK) outcome {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, c.base+rq.path, body)
	if err != nil {
		return outcome{err: fmt.Errorf("vast api %s: build request: %w", rq.name(), StripURL(err))}
	}
	if !c.key.Empty() {
		req.Header.Set("Authorization", "Bearer "+c.key.Reveal())
	}
	req.Header.Set("Accept", "application/json")
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportFailure(ctx, rq, err)
	}
	defer func() {
		// Drain a little so the connection can be reused, then close.
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		out := ok(resp)
		out.status = resp.StatusCode
		return out
	}
	b, _ := readCapped(resp.Body, 64<<10) // an error body is only for the message
	out := c.statusFailure(rq, resp, b)
	out.status = resp.StatusCode
	return out
}

// transportFailure classifies an error of the round trip itself.
func (c *Client) transportFailure(ctx context.Context, rq *request, err error) outcome {
	inner := StripURL(err)
	e := fmt.Errorf("vast api %s: %w", rq.name(), inner)
	sent := !notSent(inner)
	if ctx.Err() != nil {
		if rq.kind == kindCreate && sent {
			return outcome{err: &OutcomeUnknownError{Endpoint: rq.tmpl, Err: e}}
		}
		return outcome{err: e}
	}
	if rq.kind == kindCreate && sent {
		return outcome{err: &OutcomeUnknownError{Endpoint: rq.tmpl, Err: e}}
	}
	return outcome{err: e, retry: sent || !c.failFast}
}

// IsUnreachable reports whether err says a connection to the API could not be opened at all
// (refused, no such host, no route): the request never left.
func IsUnreachable(err error) bool { return err != nil && notSent(err) }

// bodyFailure classifies an error while reading a 2xx body: the connection broke mid-reply.
func (c *Client) bodyFailure(ctx context.Context, rq *request, err error) outcome {
	e := fmt.Errorf("vast api %s: read reply: %w", rq.name(), StripURL(err))
	if rq.kind == kindCreate {
		return outcome{err: &OutcomeUnknownError{Endpoint: rq.tmpl, Err: e}}
	}
	return outcome{err: e, retry: ctx.Err() == nil}
}

// statusFailure turns a non-2xx reply into an APIError and decides whether to retry it.
func (c *Client) statusFailure(rq *request, resp *http.Response, body []byte) outcome {
	ae := c.apiError(rq, resp.StatusCode, body)
	out := outcome{err: ae, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())}
	switch st := resp.StatusCode; {
	case st == http.StatusTooManyRequests:
		// Refused before processing: safe to retry for every kind, creates included.
		out.retry = true
		out.floor = thresholdWait(ae.Msg)
	case st >= 500:
		switch rq.kind {
		case kindRead:
			out.retry = true
		case kindIdempotent:
			// A 500 is the application's own answer; gateway errors are worth another try.
			out.retry = st == 502 || st == 503 || st == 504
		case kindCreate:
			if !ae.NewContract.Valid {
				out.err = &OutcomeUnknownError{Endpoint: rq.tmpl, Err: ae}
			}
		}
	}
	return out
}

// successFalse turns a 2xx reply saying success:false into an APIError; a rate-limit code is
// retried like a 429.
func (c *Client) successFalse(rq *request, status int, env *envelope) outcome {
	ae := c.envError(rq, status, env)
	out := outcome{err: ae}
	if ae.Code == "rate_limit_exceeded" {
		out.retry = true
		out.floor = thresholdWait(ae.Msg)
	}
	return out
}

// apiError builds the error of a failed reply from its body, JSON or plain text.
func (c *Client) apiError(rq *request, status int, body []byte) *APIError {
	env, err := decodeEnvelope(body)
	if err != nil {
		ae := &APIError{Method: rq.method, Endpoint: rq.tmpl, Status: status}
		ae.Msg = c.clean(plainMessage(body), maxMsg)
		return ae
	}
	return c.envError(rq, status, &env)
}

func (c *Client) envError(rq *request, status int, env *envelope) *APIError {
	return &APIError{
		Method:      rq.method,
		Endpoint:    rq.tmpl,
		Status:      status,
		Code:        c.clean(env.Code, 64),
		Msg:         c.clean(env.text(), maxMsg),
		AskID:       env.AskID,
		NewContract: env.NewContract,
	}
}

// plainMessage is the message of a non-JSON body: its text, or a note for HTML pages.
func plainMessage(b []byte) string {
	t := strings.TrimSpace(string(b))
	if t == "" {
		return ""
	}
	if t[0] == '<' {
		return "non-JSON reply (HTML page)"
	}
	return t
}

// clean makes reply text safe to log: the key scrubbed, control characters folded to spaces,
// and at most max bytes kept.
func (c *Client) clean(s string, max int) string {
	s = c.scrub(s)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// minRedact is the shortest value scrubbed: a shorter one would mangle ordinary text.
const minRedact = 4

// scrub removes the key and every value given to Redact from text that came from the server.
func (c *Client) scrub(s string) string {
	if k := c.key.Reveal(); len(k) >= minRedact && strings.Contains(s, k) {
		s = strings.ReplaceAll(s, k, redacted)
	}
	if vs := c.redact.Load(); vs != nil {
		for _, v := range *vs {
			if strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, redacted)
			}
		}
	}
	return s
}

// Redact sets the secret values besides the key that text from the server (an error's message
// and code, a debug line) is scrubbed of: the config's image logins, secret env values and
// webhook URLs, which a create request carries and a reply may echo. Each call replaces the
// previous set (a reload passes the new config's); values shorter than 4 bytes are ignored. It
// is safe to call while requests are in flight.
func (c *Client) Redact(values []string) {
	vs := make([]string, 0, len(values))
	for _, v := range values {
		if len(v) >= minRedact && !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	// Longest first, so a value containing another is replaced whole.
	slices.SortFunc(vs, func(a, b string) int { return len(b) - len(a) })
	c.redact.Store(&vs)
}

// record logs and observes one attempt.
func (c *Client) record(rq *request, attempt int, out outcome, d time.Duration) {
	if c.observe != nil {
		c.observe(RequestInfo{Method: rq.method, Endpoint: rq.tmpl, Code: out.status, Duration: d, Attempt: attempt})
	}
	if !c.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{"method", rq.method, "endpoint", rq.tmpl, "status", out.status, "duration", d, "attempt", attempt}
	if out.err != nil {
		attrs = append(attrs, "error", c.scrub(out.err.Error()), "retry", out.retry)
	}
	c.log.Debug("vast api request", attrs...)
}

// readCapped reads at most max bytes, failing when the body is longer.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > max {
		return b[:max], errTooLarge{max}
	}
	return b, nil
}

type errTooLarge struct{ max int64 }

func (e errTooLarge) Error() string { return fmt.Sprintf("reply larger than %d bytes", e.max) }

// readBody reads a 2xx reply under the cap, classifying failures.
func (c *Client) readBody(ctx context.Context, rq *request, resp *http.Response) ([]byte, *outcome) {
	b, err := readCapped(resp.Body, c.maxBody)
	if err != nil {
		var tl errTooLarge
		if errors.As(err, &tl) {
			e := fmt.Errorf("vast api %s: %w", rq.name(), err)
			if rq.kind == kindCreate {
				e = &OutcomeUnknownError{Endpoint: rq.tmpl, Err: e}
			}
			return nil, &outcome{err: e}
		}
		out := c.bodyFailure(ctx, rq, err)
		return nil, &out
	}
	return b, nil
}

// StripURL drops the *url.Error wrapper, whose text repeats the full request URL (which may
// carry a key or a token) and keeps its cause. The client and the drain webhook use it.
func StripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
