package vastapi

import (
	"fmt"
	"log/slog"
)

// CreateRequest is the body of PUT /api/v0/asks/{offer_id}/ (docs/vast-api.md §3). Env values and
// ImageLogin may hold secrets: String and LogValue never print them.
type CreateRequest struct {
	Image          string
	DiskGB         float64
	Label          string
	Onstart        string
	Env            map[string]string
	Runtype        string // ssh | ssh_direct | ssh_proxy | jupyter | jupyter_direct | args | ...
	Args           []string
	ImageLogin     string
	TemplateHashID string
	// Price set = interruptible bid in $/h for the whole instance; nil = on-demand.
	Price *float64
	// CancelUnavail nil leaves the API default.
	CancelUnavail *bool
}

// String is a one-line, secret-free description.
func (r CreateRequest) String() string {
	p := "on-demand"
	if r.Price != nil {
		p = fmt.Sprintf("bid $%.4f/h", *r.Price)
	}
	return fmt.Sprintf("image=%s disk=%gGB label=%s %s env=%d vars", r.Image, r.DiskGB, r.Label, p, len(r.Env))
}

// LogValue keeps env values and image_login out of logs.
func (r CreateRequest) LogValue() slog.Value { return slog.StringValue(r.String()) }

// CreateResult is a successful create reply.
type CreateResult struct {
	InstanceID     int64  // new_contract: the instance id, not the offer id
	InstanceAPIKey Secret // limited to this instance; never logged
}
