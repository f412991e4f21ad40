package vastsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Scopes are the real API's permission categories (docs/vast-api.md §6). A key made through
// auth/apikeys names some of them; the simulator enforces the five of http.go and ScopeUserWrite,
// and accepts the rest so a permission file written for the real API works unchanged.
var Scopes = []string{
	ScopeInstanceRead, ScopeInstanceWrite, ScopeUserRead, ScopeUserWrite, ScopeBillingRead,
	"billing_write", "machine_read", "machine_write", ScopeMisc, "team_read", "team_write",
}

// primaryKeyID is the id of the configured key (Options.APIKey), as users/current's key_id says;
// the keys of Options.Keys follow it in the order of their values.
const primaryKeyID = 1717

// apiKey is a key made through auth/apikeys.
type apiKey struct {
	id      int64
	name    string
	key     string
	scopes  []string
	created time.Time
	deleted bool
}

// keyScopes says how key k is limited: known with its scopes for a key of Options.Keys or one
// made through auth/apikeys (whose scopes are never nil), revoked for a made key since deleted
// (it is refused like an unknown key, even when Options.APIKey is empty and any other key would
// do). A key of Options.Keys mapped to nil is unscoped when Options.APIKey is empty.
func (s *Sim) keyScopes(k string) (scopes []string, known, revoked bool) {
	if sc, ok := s.opts.Keys[k]; ok {
		return sc, true, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ak := range s.acct.apiKeys {
		if ak.key == k {
			return ak.scopes, !ak.deleted, ak.deleted
		}
	}
	return nil, false, false
}

// requesterScopes returns the scopes of the request's (already authorized) key; all when it is
// the account's own key.
func (s *Sim) requesterScopes(r *http.Request) []string {
	k, _ := presentedKey(r)
	if sc, _, _ := s.keyScopes(k); sc != nil && k != s.opts.APIKey {
		return sc
	}
	return Scopes
}

// permissionsOf is the permissions object of a set of scopes: {"api": {"scope": {}, …}}.
func permissionsOf(scopes []string) map[string]any {
	api := map[string]any{}
	for _, sc := range scopes {
		api[sc] = map[string]any{}
	}
	return map[string]any{"api": api}
}

func (s *Sim) handleListAPIKeys(_ *http.Request, _ []byte, _ route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	entry := func(id int64, name string, scopes []string, created time.Time) map[string]any {
		return map[string]any{"id": id, "user_id": simUserID, "key": nil, "key_type": "api", "name": name,
			"rights": nil, "permissions": permissionsOf(scopes), "created_at": epoch(created),
			"team_id": nil, "team_name": nil, "team_owner": nil}
	}
	list := []map[string]any{entry(primaryKeyID, "primary", Scopes, s.start)}
	for i, k := range s.optionKeys() {
		list = append(list, entry(primaryKeyID+1+int64(i), "configured scoped key", s.opts.Keys[k], s.start))
	}
	for _, ak := range s.acct.apiKeys {
		if !ak.deleted {
			list = append(list, entry(ak.id, ak.name, ak.scopes, ak.created))
		}
	}
	return jsonReply(200, map[string]any{"apikeys": list})
}

// optionKeys returns the keys of Options.Keys in a fixed order, which gives them their ids.
func (s *Sim) optionKeys() []string {
	keys := make([]string, 0, len(s.opts.Keys))
	for k := range s.opts.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// apiKeyBody is a create request: {"name", "permissions": {"api": {"scope": {…}, …}},
// "key_params"}. Constraints inside a scope are accepted and not enforced.
type apiKeyBody struct {
	Name        *string                               `json:"name"`
	Permissions map[string]map[string]json.RawMessage `json:"permissions"`
	KeyParams   json.RawMessage                       `json:"key_params"`
}

// requestedScopes checks a create's permissions; none given means the creator's own.
func requestedScopes(b *apiKeyBody, mine []string) ([]string, *reply) {
	if b.Permissions == nil {
		return mine, nil
	}
	refuse := func(msg string) ([]string, *reply) {
		r := apiErr(400, "invalid_permissions", "Invalid permission format: "+msg)
		return nil, &r
	}
	api, ok := b.Permissions["api"]
	if !ok || len(b.Permissions) != 1 {
		return refuse(`the permissions object holds one key, "api"`)
	}
	out := []string{} // never nil: a made key with no scope is scoped to nothing
	for sc := range api {
		if !slices.Contains(Scopes, sc) {
			return refuse(fmt.Sprintf("unknown category %q", sc))
		}
		out = append(out, sc)
	}
	sort.Strings(out)
	for _, sc := range out {
		if !slices.Contains(mine, sc) {
			r := apiErr(401, "not_authorized", fmt.Sprintf("Not authorized to create a key with the %s permission.", sc))
			return nil, &r
		}
	}
	return out, nil
}

// handleCreateAPIKey makes a scoped key. It works at once with its scopes (http.go's authorize),
// and a key cannot grant a scope its creator lacks.
func (s *Sim) handleCreateAPIKey(r *http.Request, body []byte, _ route) reply {
	var b apiKeyBody
	if rep := readJSON(body, &b); rep != nil {
		return *rep
	}
	if b.Name == nil || *b.Name == "" || len(*b.Name) > 256 {
		return apiErr(400, "invalid_args", "name is required (at most 256 characters)")
	}
	scopes, rep := requestedScopes(&b, s.requesterScopes(r))
	if rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	live := 0
	for _, ak := range s.acct.apiKeys {
		if !ak.deleted {
			live++
		}
	}
	if live >= maxCreatedAPIKeys || len(s.acct.apiKeys) >= 10*maxCreatedAPIKeys {
		return apiErr(400, "too_many_keys", fmt.Sprintf("Failed to create API key: at most %d keys.", maxCreatedAPIKeys))
	}
	s.acct.nextKeyID++
	ak := &apiKey{id: s.acct.nextKeyID, name: *b.Name, key: randomToken(32), scopes: scopes, created: now}
	s.acct.apiKeys = append(s.acct.apiKeys, ak)
	s.log.Info("api key created", "id", ak.id, "name", ak.name, "scopes", scopes)
	return jsonReply(200, map[string]any{"success": true, "id": ak.id, "key": ak.key, "permissions": permissionsOf(scopes)})
}

// handleDeleteAPIKey deletes a key made through auth/apikeys; it is refused from then on. The
// configured keys cannot be deleted, as the real API keeps a primary key.
func (s *Sim) handleDeleteAPIKey(_ *http.Request, _ []byte, rt route) reply {
	id, err := strconv.ParseInt(rt.arg, 10, 64)
	if err != nil {
		return jsonReply(400, map[string]any{"success": false, "msg": "API Key ID not provided."})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	switch {
	case id == primaryKeyID:
		return jsonReply(400, map[string]any{"success": false, "msg": "You cannot delete your primary key."})
	case id > primaryKeyID && id <= primaryKeyID+int64(len(s.opts.Keys)):
		return jsonReply(400, map[string]any{"success": false, "msg": "Only user-created API keys can be deleted."})
	}
	for _, ak := range s.acct.apiKeys {
		if ak.id == id && !ak.deleted {
			ak.deleted = true
			s.log.Info("api key deleted", "id", id)
			return jsonReply(200, "Successfully Deleted API Key")
		}
	}
	return jsonReply(404, map[string]any{"success": false, "msg": "API Key not found."})
}
