package vastsim

import (
	"fmt"
	"net/http"
	"strings"
)

// Env vars ("secrets"): kept by name, upper-cased as the real API does, and never written back:
// a list shows each value as "********" (null for an empty one), and neither the request log
// (paths only) nor the simulator's logger ever sees a value.

// secretBody is a POST or PUT: one {"key", "value"}, or several as env_vars; a DELETE's "key".
type secretBody struct {
	Key     *string `json:"key"`
	Value   *string `json:"value"`
	EnvVars []struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	} `json:"env_vars"`
}

// maxSecretLen bounds one value and one name.
const maxSecretLen = 4096

func (s *Sim) handleListSecrets(_ *http.Request, _ []byte, _ route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	masked := map[string]any{}
	for k, v := range s.acct.secrets {
		masked[k] = "********"
		if v == "" {
			masked[k] = nil
		}
	}
	return jsonReply(200, map[string]any{"success": true, "secrets": masked})
}

// handleSetSecret adds (POST, which also replaces) or updates (PUT, which needs the name to exist)
// env vars.
func (s *Sim) handleSetSecret(r *http.Request, body []byte, _ route) reply {
	var b secretBody
	if rep := readJSON(body, &b); rep != nil {
		return *rep
	}
	type pair struct{ k, v string }
	var pairs []pair
	if b.Key != nil || b.Value != nil || r.Method == http.MethodPut || len(b.EnvVars) == 0 {
		if b.Key == nil || b.Value == nil || strings.TrimSpace(*b.Key) == "" {
			return apiErr(400, "missing_input", "Both 'key' and 'value' are required.")
		}
		pairs = append(pairs, pair{*b.Key, *b.Value})
	} else {
		for _, e := range b.EnvVars {
			if e.Key == nil || e.Value == nil || strings.TrimSpace(*e.Key) == "" {
				return apiErr(400, "missing_input", "Both 'key' and 'value' are required for each env var.")
			}
			pairs = append(pairs, pair{*e.Key, *e.Value})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	added, seen := 0, map[string]bool{}
	for i := range pairs {
		pairs[i].k = strings.ToUpper(strings.TrimSpace(pairs[i].k))
		p := pairs[i]
		if len(p.k) > maxSecretLen || len(p.v) > maxSecretLen {
			return apiErr(400, "invalid_input", fmt.Sprintf("Names and values are at most %d bytes.", maxSecretLen))
		}
		_, exists := s.acct.secrets[p.k]
		if r.Method == http.MethodPut && !exists {
			return apiErr(400, "nonexistent_key", "Environment variable not found")
		}
		if !exists && !seen[p.k] {
			added++
		}
		seen[p.k] = true
	}
	if len(s.acct.secrets)+added > maxSecrets {
		return apiErr(400, "max_secrets", fmt.Sprintf("User has reached the limit of %d environment variables.", maxSecrets))
	}
	for _, p := range pairs {
		s.acct.secrets[p.k] = p.v
	}
	if r.Method == http.MethodPut {
		return jsonReply(200, map[string]any{"success": true, "msg": "Environment variable updated successfully"})
	}
	return jsonReply(200, map[string]any{"success": true, "msg": "Environment variables processed successfully"})
}

func (s *Sim) handleDeleteSecret(_ *http.Request, body []byte, _ route) reply {
	var b secretBody
	if rep := readJSON(body, &b); rep != nil {
		return *rep
	}
	if b.Key == nil || strings.TrimSpace(*b.Key) == "" {
		return apiErr(400, "missing_input", "'key' required.")
	}
	name := strings.ToUpper(strings.TrimSpace(*b.Key))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	if _, ok := s.acct.secrets[name]; !ok {
		return apiErr(400, "nonexistent_key", "Environment variable not found")
	}
	delete(s.acct.secrets, name)
	return jsonReply(200, map[string]any{"success": true, "msg": "Environment variable deleted successfully"})
}
