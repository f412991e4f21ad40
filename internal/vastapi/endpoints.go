package vastapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CurrentUser returns the account behind the key (GET /api/v0/users/current/). The reply's
// api_key is dropped while decoding.
func (c *Client) CurrentUser(ctx context.Context) (User, error) {
	rq := &request{method: http.MethodGet, tmpl: EPCurrentUser, path: EPCurrentUser, kind: kindRead}
	var u User
	err := c.do(ctx, rq, func(resp *http.Response) outcome {
		b, fail := c.readBody(ctx, rq, resp)
		if fail != nil {
			return *fail
		}
		user, env, err := decodeUserReply(b)
		if err != nil {
			return outcome{err: fmt.Errorf("vast api %s: decode reply: %w", rq.name(), err)}
		}
		if env.failed() {
			return c.successFalse(rq, resp.StatusCode, &env)
		}
		u = user
		return outcome{}
	})
	return u, err
}

// SearchOffers runs q (POST /api/v0/bundles/) and returns every offer of the reply. The reply is
// decoded as it streams; a call that breaks mid-reply is retried from the start.
//
// The list is sized from the last reply to the same query (see collect.go), so a repeated search
// holds its offers once rather than up to twice and a quarter while it grows them.
func (c *Client) SearchOffers(ctx context.Context, q Query) ([]Offer, error) {
	body, err := q.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("vast api POST %s: encode query: %w", EPSearch, err)
	}
	key := string(body)
	var col offerCollector
	hint := c.hints.get(key)
	col.reset(hint)
	err = c.search(ctx, body, func() bool { col.reset(hint); return true }, func(o *Offer) error {
		col.add(o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := col.list()
	c.hints.set(key, len(out))
	return out, nil
}

// SearchOffersFunc runs q and calls fn for each offer as it is decoded, never holding the whole
// reply. The *Offer is reused for the next offer: fn must copy what it keeps. An error from fn
// stops the search and is returned as is. Once fn has been called, a failed reply is not
// retried (fn would see offers twice); before that it is.
func (c *Client) SearchOffersFunc(ctx context.Context, q Query, fn func(*Offer) error) error {
	return c.SearchOffersStream(ctx, q, func() bool { return false }, fn)
}

// SearchOffersEach runs q and calls fn for each offer as it is decoded, never holding the whole
// reply; reset is called before the first attempt and before each retry of a reply that failed
// after fn saw offers, so such a reply is retried from the start (fn must forget what it was
// given before). The *Offer is reused for the next offer: fn must copy what it keeps. An error
// from fn stops the search and is returned as is.
func (c *Client) SearchOffersEach(ctx context.Context, q Query, reset func(), fn func(*Offer) error) error {
	reset()
	return c.SearchOffersStream(ctx, q, func() bool { reset(); return true }, fn)
}

// SearchOffersStream runs q and calls fn for each offer as it is decoded, never holding the whole
// reply. When a reply fails after fn saw offers and the failure would be retried (the connection
// broke, the server answered a rate limit), restart decides: true means the caller has forgotten
// those offers and the search starts over (within the client's attempts), false ends the search
// with that failure. The *Offer is reused for the next offer: fn must copy what it keeps. An
// error from fn stops the search and is returned as is.
func (c *Client) SearchOffersStream(ctx context.Context, q Query, restart func() bool, fn func(*Offer) error) error {
	body, err := q.MarshalJSON()
	if err != nil {
		return fmt.Errorf("vast api POST %s: encode query: %w", EPSearch, err)
	}
	return c.search(ctx, body, restart, fn)
}

// search posts body, a query's JSON, and decodes the reply's offers into fn; restart is asked
// before a reply that delivered offers is retried.
func (c *Client) search(ctx context.Context, body []byte, restart func() bool, fn func(*Offer) error) error {
	rq := &request{method: http.MethodPost, tmpl: EPSearch, path: EPSearch, body: body, kind: kindRead}
	var fnErr error
	err := c.do(ctx, rq, func(resp *http.Response) outcome {
		rec := &readRecorder{r: io.LimitReader(resp.Body, MaxSearchBodyBytes+1)}
		env, delivered, err := decodeOffers(rec, fn)
		var out outcome
		var cbErr *callbackError
		switch {
		case errors.As(err, &cbErr):
			fnErr = cbErr.err
			return outcome{err: cbErr.err}
		case rec.n > MaxSearchBodyBytes:
			return outcome{err: fmt.Errorf("vast api %s: %w", rq.name(), errTooLarge{MaxSearchBodyBytes})}
		case rec.err != nil:
			out = c.bodyFailure(ctx, rq, rec.err)
		case err != nil:
			return outcome{err: fmt.Errorf("vast api %s: decode reply: %w", rq.name(), err)}
		case env.failed():
			out = c.successFalse(rq, resp.StatusCode, &env)
		}
		if out.retry && delivered > 0 && !restart() {
			out.retry = false
		}
		return out
	})
	if fnErr != nil && errors.Is(err, fnErr) {
		return fnErr
	}
	return err
}

// readRecorder remembers a reader's non-EOF error and byte count, to tell a broken or oversized
// stream from a malformed one.
type readRecorder struct {
	r   io.Reader
	n   int64
	err error
}

func (r *readRecorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// CreateInstance rents offerID (PUT /api/v0/asks/{id}/). It is retried only on 429; any other
// failure after the request may have been applied is an *OutcomeUnknownError. A failed reply that
// still names an instance is an *APIError for which CreatedInstanceID reports the id.
func (c *Client) CreateInstance(ctx context.Context, offerID int64, req CreateRequest) (CreateResult, error) {
	if offerID <= 0 {
		return CreateResult{}, fmt.Errorf("vast api PUT %s: offer id %d is not positive", EPCreate, offerID)
	}
	body, err := createBody(req)
	if err != nil {
		return CreateResult{}, fmt.Errorf("vast api PUT %s: %w", EPCreate, err)
	}
	rq := &request{method: http.MethodPut, tmpl: EPCreate, path: "/api/v0/asks/" + strconv.FormatInt(offerID, 10) + "/", body: body, kind: kindCreate}
	var res CreateResult
	err = c.do(ctx, rq, func(resp *http.Response) outcome {
		b, fail := c.readBody(ctx, rq, resp)
		if fail != nil {
			return *fail
		}
		env, err := decodeEnvelope(b)
		if err != nil {
			return outcome{err: &OutcomeUnknownError{Endpoint: rq.tmpl, Err: fmt.Errorf("decode reply: %w", err)}}
		}
		if env.failed() {
			return c.successFalse(rq, resp.StatusCode, &env)
		}
		if !env.NewContract.Valid || env.NewContract.V <= 0 {
			return outcome{err: &OutcomeUnknownError{Endpoint: rq.tmpl, Err: errors.New("success reply without new_contract")}}
		}
		res = CreateResult{InstanceID: env.NewContract.V, InstanceAPIKey: env.InstanceAPIKey}
		return outcome{}
	})
	return res, err
}

// createBodyJSON is the create request as the official CLI sends it (key order included).
type createBodyJSON struct {
	ClientID       string            `json:"client_id"`
	Image          *string           `json:"image"`
	Env            map[string]string `json:"env"`
	Price          *float64          `json:"price"`
	Disk           float64           `json:"disk"`
	Label          *string           `json:"label"`
	Extra          *string           `json:"extra"`
	Onstart        *string           `json:"onstart"`
	ImageLogin     *string           `json:"image_login"`
	PythonUTF8     bool              `json:"python_utf8"`
	LangUTF8       bool              `json:"lang_utf8"`
	UseJupyterLab  bool              `json:"use_jupyter_lab"`
	JupyterDir     *string           `json:"jupyter_dir"`
	Force          bool              `json:"force"`
	CancelUnavail  *bool             `json:"cancel_unavail,omitempty"`
	TemplateHashID *string           `json:"template_hash_id"`
	User           *string           `json:"user"`
	Runtype        string            `json:"runtype,omitempty"`
	Args           []string          `json:"args,omitempty"`
}

// DefaultDiskGB is the disk of a create request that names none, as in the official CLI.
const DefaultDiskGB = 10

func createBody(r CreateRequest) ([]byte, error) {
	if r.Image == "" && r.TemplateHashID == "" {
		return nil, errors.New("create request needs an image or a template_hash_id")
	}
	if r.Price != nil && (math.IsNaN(*r.Price) || *r.Price < 0.001 || *r.Price > 128) {
		return nil, errors.New("bid price must be between 0.001 and 128 $/h")
	}
	if math.IsNaN(r.DiskGB) || r.DiskGB < 0 {
		return nil, errors.New("disk must be a non-negative number of GB")
	}
	b := createBodyJSON{
		ClientID:       "me",
		Image:          nonEmpty(r.Image),
		Env:            r.Env,
		Price:          r.Price,
		Disk:           r.DiskGB,
		Label:          nonEmpty(r.Label),
		Onstart:        nonEmpty(r.Onstart),
		ImageLogin:     nonEmpty(r.ImageLogin),
		CancelUnavail:  r.CancelUnavail,
		TemplateHashID: nonEmpty(r.TemplateHashID),
		Args:           r.Args,
	}
	if b.Env == nil {
		b.Env = map[string]string{}
	}
	if b.Disk == 0 {
		b.Disk = DefaultDiskGB
	}
	rt, err := wireRuntype(r.Runtype, len(r.Args) > 0, r.TemplateHashID != "")
	if err != nil {
		return nil, err
	}
	b.Runtype = rt
	return json.Marshal(b)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// wireRuntype maps a runtype to what the CLI sends ("direc", space-separated with the proxy
// fallback). Empty means the CLI default: ssh, or nothing with a template (it brings its own).
func wireRuntype(rt string, args, template bool) (string, error) {
	switch rt {
	case "":
		switch {
		case args:
			return "args", nil
		case template:
			return "", nil
		}
		return "ssh", nil
	case "ssh", "args", "ssh_proxy":
		return rt, nil
	case "ssh_direct", "ssh_direc", "ssh_direc ssh_proxy":
		return "ssh_direc ssh_proxy", nil
	case "jupyter", "jupyter_proxy", "jupyter_proxy ssh_proxy":
		return "jupyter_proxy ssh_proxy", nil
	case "jupyter_direct", "jupyter_direc", "jupyter_direc ssh_direc ssh_proxy":
		return "jupyter_direc ssh_direc ssh_proxy", nil
	}
	return "", fmt.Errorf("runtype %q is not ssh, ssh_direct, ssh_proxy, jupyter, jupyter_direct or args", rt)
}

// ListPageSize is the v1 list's page size (its maximum).
const ListPageSize = 25

// maxListPages bounds a v1 listing (25,000 instances) so a server that keeps answering with a
// next_token cannot loop the client forever.
const maxListPages = 1000

// ListInstances lists every instance of the account (GET /api/v1/instances/), following each
// next_token.
func (c *Client) ListInstances(ctx context.Context) ([]Instance, error) {
	var all []Instance
	seen := map[string]bool{}
	token := ""
	for page := 1; ; page++ {
		if page > maxListPages {
			return nil, fmt.Errorf("vast api GET %s: more than %d pages", EPListV1, maxListPages)
		}
		path := EPListV1 + "?select_filters=" + url.QueryEscape("{}") +
			"&order_by=" + url.QueryEscape(`[{"col":"id","dir":"asc"}]`) +
			"&limit=" + strconv.Itoa(ListPageSize)
		if token != "" {
			path += "&after_token=" + url.QueryEscape(token)
		}
		rq := &request{method: http.MethodGet, tmpl: EPListV1, path: path, kind: kindRead}
		var next Opt[string]
		err := c.do(ctx, rq, func(resp *http.Response) outcome {
			b, fail := c.readBody(ctx, rq, resp)
			if fail != nil {
				return *fail
			}
			list, nt, env, err := decodeInstanceList(b)
			if err != nil {
				return outcome{err: fmt.Errorf("vast api %s: decode reply: %w", rq.name(), err)}
			}
			if env.failed() {
				return c.successFalse(rq, resp.StatusCode, &env)
			}
			all = append(all, list...)
			next = nt
			return outcome{}
		})
		if err != nil {
			if page > 1 {
				return nil, fmt.Errorf("list instances page %d: %w", page, err)
			}
			return nil, err
		}
		if !next.Valid || next.V == "" {
			return all, nil
		}
		if seen[next.V] {
			return nil, fmt.Errorf("vast api GET %s: next_token repeats on page %d", EPListV1, page)
		}
		seen[next.V] = true
		token = next.V
	}
}

// ListInstancesV0 lists instances with the deprecated unpaginated v0 endpoint
// (GET /api/v0/instances/?owner=me).
func (c *Client) ListInstancesV0(ctx context.Context) ([]Instance, error) {
	rq := &request{method: http.MethodGet, tmpl: EPListV0, path: EPListV0 + "?owner=me", kind: kindRead}
	var out []Instance
	err := c.do(ctx, rq, func(resp *http.Response) outcome {
		b, fail := c.readBody(ctx, rq, resp)
		if fail != nil {
			return *fail
		}
		list, _, env, err := decodeInstanceList(b)
		if err != nil {
			return outcome{err: fmt.Errorf("vast api %s: decode reply: %w", rq.name(), err)}
		}
		if env.failed() {
			return c.successFalse(rq, resp.StatusCode, &env)
		}
		out = list
		return outcome{}
	})
	return out, err
}

// ShowInstance returns one instance (GET /api/v0/instances/{id}/?owner=me), or nil and no error
// when it is gone ({"instances": null}, or no_such_instance).
func (c *Client) ShowInstance(ctx context.Context, id int64) (*Instance, error) {
	if id <= 0 {
		return nil, fmt.Errorf("vast api GET %s: instance id %d is not positive", EPShowInstance, id)
	}
	rq := &request{method: http.MethodGet, tmpl: EPShowInstance, path: instancePath(id) + "?owner=me", kind: kindRead}
	var inst *Instance
	err := c.do(ctx, rq, func(resp *http.Response) outcome {
		b, fail := c.readBody(ctx, rq, resp)
		if fail != nil {
			return *fail
		}
		in, env, err := decodeShowInstance(b)
		if err != nil {
			return outcome{err: fmt.Errorf("vast api %s: decode reply: %w", rq.name(), err)}
		}
		if env.failed() {
			return c.successFalse(rq, resp.StatusCode, &env)
		}
		inst = in
		return outcome{}
	})
	if err != nil {
		if IsGone(err) {
			return nil, nil
		}
		return nil, err
	}
	return inst, nil
}

// DestroyInstance destroys an instance (DELETE /api/v0/instances/{id}/). An instance that is
// already gone gives an error for which IsGone is true: a retried destroy whose first attempt
// was applied ends that way.
func (c *Client) DestroyInstance(ctx context.Context, id int64) error {
	return c.mutate(ctx, http.MethodDelete, EPDestroy, id, instancePath(id), []byte("{}"))
}

// SetInstanceState starts ("running") or stops ("stopped") an instance.
func (c *Client) SetInstanceState(ctx context.Context, id int64, state string) error {
	if state != "running" && state != "stopped" {
		return fmt.Errorf("vast api PUT %s: state %q is not running or stopped", EPManage, state)
	}
	body, _ := json.Marshal(map[string]string{"state": state})
	return c.mutate(ctx, http.MethodPut, EPManage, id, instancePath(id), body)
}

// MaxLabelLen is the longest label the API accepts.
const MaxLabelLen = 1024

// SetLabel sets an instance's label.
func (c *Client) SetLabel(ctx context.Context, id int64, label string) error {
	if len(label) > MaxLabelLen {
		return fmt.Errorf("vast api PUT %s: label longer than %d bytes", EPManage, MaxLabelLen)
	}
	body, _ := json.Marshal(map[string]string{"label": label})
	return c.mutate(ctx, http.MethodPut, EPManage, id, instancePath(id), body)
}

// ChangeBid sets the bid of an interruptible instance, in $/h for the whole instance
// (PUT /api/v0/instances/bid_price/{id}/).
func (c *Client) ChangeBid(ctx context.Context, id int64, price float64) error {
	if math.IsNaN(price) || price < 0.001 || price > 128 {
		return fmt.Errorf("vast api PUT %s: bid price must be between 0.001 and 128 $/h", EPChangeBid)
	}
	body, err := json.Marshal(struct {
		ClientID string  `json:"client_id"`
		Price    float64 `json:"price"`
	}{"me", price})
	if err != nil {
		return fmt.Errorf("vast api PUT %s: %w", EPChangeBid, err)
	}
	path := "/api/v0/instances/bid_price/" + strconv.FormatInt(id, 10) + "/"
	return c.mutate(ctx, http.MethodPut, EPChangeBid, id, path, body)
}

// mutate runs an idempotent mutation whose reply is only the envelope.
func (c *Client) mutate(ctx context.Context, method, tmpl string, id int64, path string, body []byte) error {
	if id <= 0 {
		return fmt.Errorf("vast api %s %s: instance id %d is not positive", method, tmpl, id)
	}
	rq := &request{method: method, tmpl: tmpl, path: path, body: body, kind: kindIdempotent}
	return c.do(ctx, rq, func(resp *http.Response) outcome {
		b, fail := c.readBody(ctx, rq, resp)
		if fail != nil {
			return *fail
		}
		if len(strings.TrimSpace(string(b))) == 0 {
			return outcome{}
		}
		env, err := decodeEnvelope(b)
		if err != nil {
			return outcome{err: fmt.Errorf("vast api %s: decode reply: %w", rq.name(), err)}
		}
		if env.failed() {
			return c.successFalse(rq, resp.StatusCode, &env)
		}
		return outcome{}
	})
}

func instancePath(id int64) string {
	return "/api/v0/instances/" + strconv.FormatInt(id, 10) + "/"
}
