package vastapi

import (
	"errors"
	"fmt"
	"strings"
)

// APIError is a reply of the API that says a request failed: a non-2xx status, or a 2xx whose
// body carries `"success": false`. Every field comes from the reply except Method and Endpoint,
// which name the request by its template (never an id or a query string). Msg is scrubbed of the
// API key before the error is built, so Error never contains it.
type APIError struct {
	Method   string
	Endpoint string // template, e.g. /api/v0/asks/{id}/
	Status   int    // HTTP status; 200 for a 200 with success:false
	Code     string // the body's "error" (e.g. no_such_ask, invalid_args, auth_error); "" when absent
	Msg      string // the body's msg, message or detail, or a plain-text body, trimmed and capped
	AskID    int64  // the body's ask_id (404 no_such_ask); 0 when absent
	// NewContract is the id of an instance the failed create still made (a bid below the floor
	// leaves a stopped instance that bills storage). See CreatedInstanceID.
	NewContract Opt[int64]
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("vast api ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Endpoint)
	fmt.Fprintf(&b, ": status %d", e.Status)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.NewContract.Valid {
		fmt.Fprintf(&b, " (instance %d was created)", e.NewContract.V)
	}
	return b.String()
}

// OutcomeUnknownError is a create that may or may not have been applied: the request was sent
// and then the connection broke or timed out, the server answered 5xx, or the reply could not be
// read. The caller must not assume either outcome; it reconciles against the instance list.
type OutcomeUnknownError struct {
	Endpoint string
	Err      error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("vast api %s: outcome unknown (the request may have been applied): %v", e.Endpoint, e.Err)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// IsGone reports whether err says the instance no longer exists: destroy or manage answering
// no_such_instance (200 success:false or 404), or the OpenAPI's 404 not_found on an instance.
func IsGone(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	if ae.Code == "no_such_instance" || strings.Contains(ae.Msg, "no_such_instance") {
		return true
	}
	return ae.Status == 404 && ae.Code == "not_found" && strings.Contains(ae.Endpoint, "/instances/")
}

// IsOfferTaken reports whether a create failed because the offer is no longer available
// (404 "no_such_ask … is not available", 410 no_such_ask). Such a create was not applied.
func IsOfferTaken(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || IsAuth(err) {
		return false
	}
	if ae.Status != 404 && ae.Status != 410 {
		return false
	}
	return ae.Code == "no_such_ask" || strings.Contains(ae.Msg, "no_such_ask") ||
		strings.Contains(ae.Msg, "not available") || strings.Contains(ae.Msg, "no longer available")
}

// IsRateLimited reports whether the API refused the request for being too frequent.
func IsRateLimited(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Status == 429 || ae.Code == "rate_limit_exceeded"
}

// IsAuth reports whether the key was refused: 401, 403, or the 404 some endpoints use for an
// invalid key or an expired session.
func IsAuth(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	if ae.Status == 401 || ae.Status == 403 || ae.Code == "auth_error" {
		return true
	}
	if ae.Status == 404 {
		m := strings.ToLower(ae.Msg)
		return strings.Contains(m, "invalid user key") || strings.Contains(m, "session expired") ||
			strings.Contains(m, "requires login")
	}
	return false
}

// IsOutcomeUnknown reports whether err is a create whose outcome is unknown.
func IsOutcomeUnknown(err error) bool {
	var oe *OutcomeUnknownError
	return errors.As(err, &oe)
}

// CreatedInstanceID returns the instance id a failed create reply still carried in new_contract:
// the instance exists (typically stopped, billing storage) although the create "failed".
func CreatedInstanceID(err error) (int64, bool) {
	var ae *APIError
	if !errors.As(err, &ae) || !ae.NewContract.Valid {
		return 0, false
	}
	return ae.NewContract.V, true
}
