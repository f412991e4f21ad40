package vastapi

import "time"

// Endpoint templates: the names requests are logged, observed and paced under. They never
// contain an id.
const (
	EPCurrentUser  = "/api/v0/users/current/"
	EPSearch       = "/api/v0/bundles/"
	EPCreate       = "/api/v0/asks/{id}/"
	EPListV1       = "/api/v1/instances/"
	EPListV0       = "/api/v0/instances/"
	EPShowInstance = "/api/v0/instances/{id}/" // GET
	EPDestroy      = "/api/v0/instances/{id}/" // DELETE
	EPManage       = "/api/v0/instances/{id}/" // PUT: state, label
	EPChangeBid    = "/api/v0/instances/bid_price/{id}/"
	EPGPUNames     = "/api/v0/gpu_names/unique/"
	EPCharges      = "/api/v0/charges/"
	EPAttachSSHKey = "/api/v0/instances/{id}/ssh/" // POST: attach a public key to an instance
)

// SearchesPerMinute is the published search limit ("10/min per IP", docs/vast-api.md §1).
const SearchesPerMinute = 10

// SearchMinInterval is the spacing that keeps searches within SearchesPerMinute.
const SearchMinInterval = time.Minute / SearchesPerMinute

// DefaultPacing is the minimum spacing per method and endpoint template, from the published
// x-rate-limit thresholds read as seconds between calls (docs/vast-api.md §1). Keys are
// "METHOD template".
var DefaultPacing = map[string]time.Duration{
	"GET " + EPCurrentUser:  time.Second,
	"POST " + EPSearch:      SearchMinInterval,
	"GET " + EPSearch:       SearchMinInterval,
	"PUT " + EPCreate:       4500 * time.Millisecond,
	"GET " + EPListV1:       time.Second,
	"GET " + EPListV0:       time.Second,
	"GET " + EPShowInstance: 2 * time.Second,
	"DELETE " + EPDestroy:   3 * time.Second,
	"PUT " + EPManage:       time.Second,
	"PUT " + EPChangeBid:    5500 * time.Millisecond,
	"GET " + EPCharges:      time.Second,

	"POST " + EPAttachSSHKey: 2 * time.Second,
}

// RequestInfo describes one HTTP attempt, for the metrics observer and the debug log.
type RequestInfo struct {
	Method   string
	Endpoint string // template, never an id
	Code     int    // HTTP status; 0 when no response arrived (reset, timeout)
	Duration time.Duration
	Attempt  int // 1-based
}
