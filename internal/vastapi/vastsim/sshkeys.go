package vastsim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// sshKey is one ssh key record: one of the account's (listed by ssh/, given to every new
// instance) or one attached to an instance only, as the real API creates a record for a key
// attached that the account does not have.
type sshKey struct {
	id      int64
	pub     string
	created time.Time
	account bool
}

// wire is the record as the API writes it. The published reference names the list's field
// `key` and the create reply's `public_key`; clients tested against the real API read
// `public_key` from both, so both are sent.
func (k *sshKey) wire() map[string]any {
	return map[string]any{"id": k.id, "user_id": simUserID, "public_key": k.pub, "key": k.pub,
		"created_at": epoch(k.created), "deleted_at": nil}
}

// keyByPub returns the record holding pub, or nil. Callers hold s.mu.
func (a *account) keyByPub(pub string) *sshKey {
	for _, k := range a.sshKeys {
		if k.pub == pub {
			return k
		}
	}
	return nil
}

// record returns pub's record, making one when there is none; nil when the store is full.
func (a *account) record(pub string, now time.Time) *sshKey {
	if k := a.keyByPub(pub); k != nil {
		return k
	}
	if len(a.sshKeys) >= maxSSHKeyRecords {
		return nil
	}
	a.nextSSHID++
	k := &sshKey{id: a.nextSSHID, pub: pub, created: now}
	a.sshKeys[k.id] = k
	return k
}

// attach gives instance id the key; false when it already has it.
func (a *account) attach(id int64, k *sshKey) bool {
	if slices.Contains(a.attached[id], k.id) {
		return false
	}
	a.attached[id] = append(a.attached[id], k.id)
	return true
}

// attachAccountKeys gives a new instance every key of the account, as Vast does at creation.
// Callers hold s.mu.
func (s *Sim) attachAccountKeys(in *instance) {
	for _, k := range s.accountKeys() {
		s.acct.attach(in.id, k)
	}
}

// accountKeys returns the account's keys by id. Callers hold s.mu.
func (s *Sim) accountKeys() []*sshKey {
	var out []*sshKey
	for _, k := range s.acct.sshKeys {
		if k.account {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b *sshKey) int { return cmp.Compare(a.id, b.id) })
	return out
}

// InstanceSSHKeys returns the public keys instance id has, in the order they were added: the
// account's keys at its creation, then those attached to it.
func (s *Sim) InstanceSSHKeys(id int64) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	if s.live(id) == nil {
		return nil, fmt.Errorf("ssh keys of instance %d: %w", id, ErrNotFound)
	}
	var out []string
	for _, kid := range s.acct.attached[id] {
		out = append(out, s.acct.sshKeys[kid].pub)
	}
	return out, nil
}

func (s *Sim) handleListSSHKeys(_ *http.Request, _ []byte, _ route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	list := []map[string]any{}
	for _, k := range s.accountKeys() {
		list = append(list, k.wire())
	}
	return jsonReply(200, list)
}

// sshKeyBody is the body of a key create or attach; instance_id, when given, takes precedence
// over the path's id on an attach, as on the real API.
type sshKeyBody struct {
	SSHKey     *string `json:"ssh_key"`
	InstanceID int64   `json:"instance_id"`
}

// parseKeyBody reads a body with a public key; noKey is the message for a missing one.
func parseKeyBody(body []byte, noKey string) (sshKeyBody, string, *reply) {
	var b sshKeyBody
	if rep := readJSON(body, &b); rep != nil {
		return b, "", rep
	}
	if b.SSHKey == nil || *b.SSHKey == "" {
		r := apiErr(400, "no_ssh_key", noKey)
		return b, "", &r
	}
	pub, err := vastapi.ParsePublicKey(*b.SSHKey)
	if err != nil {
		r := apiErr(400, "invalid_ssh_key", err.Error())
		return b, "", &r
	}
	return b, pub, nil
}

// handleCreateSSHKey adds a key to the account and to every instance it has now.
func (s *Sim) handleCreateSSHKey(_ *http.Request, body []byte, _ route) reply {
	_, pub, rep := parseKeyBody(body, "No ssh key provided")
	if rep != nil {
		return *rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if k := s.acct.keyByPub(pub); k != nil && k.account {
		return apiErr(400, "duplicate_ssh_key", fmt.Sprintf("This ssh key is already on the account (id %d).", k.id))
	}
	if len(s.accountKeys()) >= maxAccountSSHKeys {
		return apiErr(400, "too_many_ssh_keys", fmt.Sprintf("An account holds at most %d ssh keys.", maxAccountSSHKeys))
	}
	k := s.acct.record(pub, now)
	if k == nil {
		return apiErr(400, "too_many_ssh_keys", "The simulator holds no more ssh keys.")
	}
	k.account = true
	for _, in := range s.instList {
		if !in.destroyed && len(s.acct.attached[in.id]) < maxInstanceSSHKeys {
			s.acct.attach(in.id, k)
		}
	}
	s.log.Info("ssh key added to the account", "id", k.id)
	return jsonReply(200, map[string]any{"success": true, "key": k.wire()})
}

// handleDeleteSSHKey removes a key from the account. Instances that have it keep it: it is in
// their authorized_keys already.
func (s *Sim) handleDeleteSSHKey(_ *http.Request, _ []byte, rt route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	k := s.acct.sshKeys[rt.id]
	if k == nil || !k.account {
		return apiErr(400, "no_ssh_key", "No ssh key provided")
	}
	k.account = false
	if !s.keyInUse(k.id) {
		delete(s.acct.sshKeys, k.id)
	}
	return jsonReply(200, map[string]any{"success": true})
}

func (s *Sim) keyInUse(id int64) bool {
	for iid, ids := range s.acct.attached {
		if s.live(iid) != nil && slices.Contains(ids, id) {
			return true
		}
	}
	return false
}

// handleInstanceSSHKeys lists an instance's keys; the real API sends them as a JSON string.
func (s *Sim) handleInstanceSSHKeys(_ *http.Request, _ []byte, rt route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	if s.live(rt.id) == nil {
		return noSuchInstance(rt.id)
	}
	list := []map[string]any{}
	for _, kid := range s.acct.attached[rt.id] {
		k := s.acct.sshKeys[kid]
		list = append(list, map[string]any{"id": k.id, "user_id": simUserID, "public_key": k.pub, "created_at": epoch(k.created)})
	}
	b, _ := json.Marshal(list)
	return jsonReply(200, map[string]any{"success": true, "ssh_keys": string(b)})
}

// handleAttachSSHKey gives an instance a key (docs/vast-api.md §6). A key it already has is a
// 200 success:false, as on the real API.
func (s *Sim) handleAttachSSHKey(_ *http.Request, body []byte, rt route) reply {
	b, pub, rep := parseKeyBody(body, "No ssh key provided to add to instance.")
	if rep != nil {
		return *rep
	}
	id := rt.id
	if b.InstanceID > 0 {
		id = b.InstanceID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.live(id) == nil {
		return noSuchInstance(id)
	}
	if k := s.acct.keyByPub(pub); k != nil && slices.Contains(s.acct.attached[id], k.id) {
		return jsonReply(200, map[string]any{"success": false, "msg": "SSH key already associated with instance."})
	}
	if len(s.acct.attached[id]) >= maxInstanceSSHKeys {
		return apiErr(400, "too_many_ssh_keys", fmt.Sprintf("An instance holds at most %d ssh keys.", maxInstanceSSHKeys))
	}
	k := s.acct.record(pub, now)
	if k == nil {
		return apiErr(400, "too_many_ssh_keys", "The simulator holds no more ssh keys.")
	}
	s.acct.attach(id, k)
	kb, _ := json.Marshal(map[string]any{"id": k.id, "user_id": simUserID, "public_key": k.pub, "created_at": epoch(k.created)})
	s.log.Info("ssh key attached", "instance", id, "key", k.id)
	return jsonReply(200, map[string]any{"success": true, "msg": "SSH key added to instance.", "key": string(kb)})
}

// handleDetachSSHKey takes a key (by its record id) off an instance.
func (s *Sim) handleDetachSSHKey(_ *http.Request, _ []byte, rt route) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	if s.live(rt.id) == nil {
		return noSuchInstance(rt.id)
	}
	var kid int64
	_, err := fmt.Sscan(rt.arg, &kid)
	ids := s.acct.attached[rt.id]
	i := slices.Index(ids, kid)
	if err != nil || i < 0 {
		return apiErr(404, "no_such_ssh_key", "SSH key not found.")
	}
	s.acct.attached[rt.id] = slices.Delete(ids, i, i+1)
	if k := s.acct.sshKeys[kid]; k != nil && !k.account && !s.keyInUse(kid) {
		delete(s.acct.sshKeys, kid)
	}
	return jsonReply(200, map[string]any{"success": true, "msg": "SSH key removed from instance."})
}
