package vastapi

import (
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxRetryAfter is the longest Retry-After this client honours by waiting; a server asking for
// more gets its error returned at once, since the caller's cycle would stall anyway.
const maxRetryAfter = 2 * time.Minute

// backoff is the wait before the attempt after attempt: exponential with full jitter, capped at
// MaxBackoff, and never shorter than what the server asked for (Retry-After, or the threshold a
// 429 names). ok is false when the server asked for longer than this client waits.
func (c *Client) backoff(attempt int, out outcome) (time.Duration, bool) {
	ceil := c.maxBackoff
	if attempt < 30 {
		if d := baseBackoff << (attempt - 1); d < ceil {
			ceil = d
		}
	}
	c.rndMu.Lock()
	wait := time.Duration(c.rnd.Int64N(int64(ceil) + 1))
	c.rndMu.Unlock()
	if floor := min(out.floor, c.maxBackoff); wait < floor {
		wait = floor
	}
	if out.retryAfter > 0 {
		if out.retryAfter > max(maxRetryAfter, c.maxBackoff) {
			return 0, false
		}
		wait = max(wait, out.retryAfter)
	}
	return wait, true
}

// parseRetryAfter reads delta-seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n <= 0 || n > 1e6 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// thresholdRe finds the spacing a Vast 429 names ("… endpoint threshold=4.5").
var thresholdRe = regexp.MustCompile(`threshold=([0-9]+(?:\.[0-9]+)?)`)

// thresholdWait reads the threshold as seconds (docs/vast-api.md §1), 0 when absent.
func thresholdWait(msg string) time.Duration {
	m := thresholdRe.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f <= 0 || f > 3600 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// notSent reports an error that certainly happened before any byte of the request left: the
// connection was never opened. Only then may a create be retried after a transport error.
func notSent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
