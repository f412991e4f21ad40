package scaler

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// labelPrefix starts every label vastwatch writes: vastwatch:<owner>:<fleet>:<nonce>.
const labelPrefix = "vastwatch"

// Label is the ownership label of an instance created for fleet by owner.
func Label(owner, fleet, nonce string) string {
	return labelPrefix + ":" + owner + ":" + fleet + ":" + nonce
}

// ParseLabel splits an ownership label. ok is false for any other label (a foreign instance).
func ParseLabel(label string) (owner, fleet, nonce string, ok bool) {
	parts := strings.Split(label, ":")
	if len(parts) != 4 || parts[0] != labelPrefix || parts[1] == "" || parts[2] == "" || parts[3] == "" {
		return "", "", "", false
	}
	return parts[1], parts[2], parts[3], true
}

// makeNonce derives a create's nonce from what is unique about it: the instant of the plan, the
// fleet, the offer and its position in the plan. Plan stays pure (no randomness) and two creates
// never share a nonce.
func makeNonce(now time.Time, fleet string, offerID int64, seq int) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(now.UnixNano(), 10)))
	h.Write([]byte{0})
	h.Write([]byte(fleet))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(offerID, 10)))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(seq)))
	return hex.EncodeToString(h.Sum(nil))[:12]
}
