package vastapi

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// AttachSSHKey attaches an OpenSSH public key to an instance (POST /api/v0/instances/{id}/ssh/,
// docs/vast-api.md §6), so whoever holds the private key can log in to it. It is retried like
// the other idempotent mutations: attaching a key the instance already has is not an error (the
// API answers that 200 success:false "SSH key already associated with instance.", which is also
// what a retry whose first attempt was applied gets). An instance that is gone gives an error
// for which IsGone is true.
func (c *Client) AttachSSHKey(ctx context.Context, instanceID int64, publicKey string) error {
	if instanceID <= 0 {
		return fmt.Errorf("vast api POST %s: instance id %d is not positive", EPAttachSSHKey, instanceID)
	}
	key, err := ParsePublicKey(publicKey)
	if err != nil {
		return fmt.Errorf("vast api POST %s: %w", EPAttachSSHKey, err)
	}
	body, err := json.Marshal(struct {
		SSHKey string `json:"ssh_key"`
	}{key})
	if err != nil {
		return fmt.Errorf("vast api POST %s: %w", EPAttachSSHKey, err)
	}
	path := "/api/v0/instances/" + strconv.FormatInt(instanceID, 10) + "/ssh/"
	rq := &request{method: http.MethodPost, tmpl: EPAttachSSHKey, path: path, body: body, kind: kindIdempotent}
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
		if env.failed() && !strings.Contains(strings.ToLower(env.text()), "already associated") {
			return c.successFalse(rq, resp.StatusCode, &env)
		}
		return outcome{}
	})
}

// MaxPublicKeyLen bounds an OpenSSH public key line (a 16384-bit RSA key is under 3 kB).
const MaxPublicKeyLen = 16 << 10

// publicKeyTypes are the OpenSSH public key types an authorized_keys line may carry.
var publicKeyTypes = map[string]bool{
	"ssh-ed25519": true, "ssh-rsa": true, "ssh-dss": true,
	"ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true,
	"sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
}

// ParsePublicKey checks that s is one OpenSSH public key line, "TYPE BASE64 [COMMENT]", whose
// base64 blob decodes and names the same TYPE, and returns it trimmed. It refuses a private key,
// more than one line (a second line would become a second authorized key on the instance), an
// unknown type and a blob that does not decode. The key itself never appears in the error.
func ParsePublicKey(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("ssh public key is empty")
	case len(s) > MaxPublicKeyLen:
		return "", fmt.Errorf("ssh public key is longer than %d bytes", MaxPublicKeyLen)
	case strings.Contains(s, "PRIVATE KEY"):
		return "", errors.New("that is a private ssh key: give the public one (the .pub file)")
	case strings.ContainsAny(s, "\r\n\x00"):
		return "", errors.New("ssh public key must be a single line")
	}
	fields := strings.Fields(s)
	if len(fields) < 2 || !publicKeyTypes[fields[0]] {
		return "", errors.New(`ssh public key is not "TYPE BASE64 [COMMENT]" with a type such as ssh-ed25519 or ssh-rsa`)
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return "", errors.New("ssh public key's base64 part does not decode")
	}
	if len(blob) < 4 {
		return "", errors.New("ssh public key's blob is truncated")
	}
	n := binary.BigEndian.Uint32(blob)
	if uint64(n) > uint64(len(blob)-4) || string(blob[4:4+n]) != fields[0] {
		return "", fmt.Errorf("ssh public key's blob is not a %s key", fields[0])
	}
	return s, nil
}
