package vastsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// simUserID is the simulated account's id, as users/current answers it.
const simUserID = 4242

// Bounds on what requests can make the simulator keep: a long-running `vastwatch sim` must not
// grow without bound (docs/vast-api.md §8 says which are the real API's and which are choices).
const (
	maxAccountSSHKeys  = 100  // keys on the account
	maxSSHKeyRecords   = 1000 // account keys and keys attached to an instance only
	maxInstanceSSHKeys = 100  // keys attached to one instance
	maxCreatedAPIKeys  = 100  // live keys made through auth/apikeys
	maxSecrets         = 16   // the real API's limit
	maxUserTemplates   = 100
	maxLogResults      = 64 // requested logs kept for their result URLs, oldest dropped first
)

// account is what a CLI user manages besides instances and money (docs/vast-api.md §7): ssh
// keys, scoped API keys, env vars, templates, and the logs waiting at their result URLs. It is
// guarded by Sim.mu. Nothing here draws from the seeded streams, so the market and the
// instances a seed gives do not depend on it.
type account struct {
	sshKeys   map[int64]*sshKey // by id: the account's keys and keys attached to an instance only
	nextSSHID int64
	attached  map[int64][]int64 // instance id → ids of the keys it has, in the order added

	apiKeys   []*apiKey // made through auth/apikeys, deleted ones included (they stay refused)
	nextKeyID int64

	secrets map[string]string // env vars: NAME → value, never in a reply or a log

	templates  []*template // the fixed public catalogue, then the account's own
	nextTmplID int64

	logs     map[string]string // result-URL token → the log text as it was when requested
	logOrder []string
}

func newAccount() account {
	return account{
		sshKeys: map[int64]*sshKey{}, nextSSHID: 51_000, attached: map[int64][]int64{},
		nextKeyID: 2000,
		secrets:   map[string]string{},
		templates: publicTemplates(), nextTmplID: 310_000,
		logs: map[string]string{},
	}
}

// randomToken is a secret the simulator hands out (an API key, a result URL): unguessable, from
// crypto/rand, never from the seeded streams.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return hex.EncodeToString(b)
}

// epoch is a time as the API writes timestamps: float seconds.
func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// readJSON decodes a request body into v; an empty body leaves v as it is (the CLI sends {} or
// nothing for some commands).
func readJSON(body []byte, v any) *reply {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		r := apiErr(http.StatusBadRequest, "invalid_args", "Invalid request body: "+err.Error())
		return &r
	}
	return nil
}
