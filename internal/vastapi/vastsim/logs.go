package vastsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Instance logs, as `vastai logs` fetches them: PUT request_logs/{id}/ answers a result_url, and
// the CLI GETs that URL, without a key, until it answers 200 (on the real API, a pre-signed S3
// object that appears a few seconds later). The simulator's result_url points back at itself,
// under logResultPrefix, and the log is there at once, as it was when requested. Logs never carry
// env values, the onstart script or keys.

// logResultPrefix is the path of the result URLs, outside the API and not logged, like S3.
const logResultPrefix = "/instance_logs/"

// maxLogTail bounds tail, and the default is the CLI's.
const (
	maxLogTail     = 100_000
	defaultLogTail = 1000
)

type logsBody struct {
	Tail       json.RawMessage `json:"tail"` // the CLI sends a string, "1000"
	Filter     *string         `json:"filter"`
	DaemonLogs json.RawMessage `json:"daemon_logs"` // "true"
}

func (s *Sim) handleRequestLogs(r *http.Request, body []byte, rt route) reply {
	var b logsBody
	if rep := readJSON(body, &b); rep != nil {
		return *rep
	}
	tail := defaultLogTail
	if len(b.Tail) > 0 && string(b.Tail) != "null" {
		var v any
		_ = json.Unmarshal(b.Tail, &v)
		n, ok := number(v)
		if _, isBool := v.(bool); !ok || isBool || n < 1 || n > maxLogTail || n != float64(int(n)) {
			return apiErr(400, "invalid_args", fmt.Sprintf("tail must be a number of lines from 1 to %d", maxLogTail))
		}
		tail = int(n)
	}
	daemon := strings.Trim(string(b.DaemonLogs), `"`) == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	in := s.live(rt.id)
	if in == nil {
		return apiErr(404, "invalid_id", "Invalid instance id.")
	}
	lines := s.containerLog(in, now)
	if daemon {
		lines = s.daemonLog(in)
	}
	if b.Filter != nil && *b.Filter != "" {
		kept := lines[:0:0]
		for _, l := range lines {
			if strings.Contains(l, *b.Filter) {
				kept = append(kept, l)
			}
		}
		lines = kept
	}
	lines = lines[max(0, len(lines)-tail):]
	token := randomToken(16)
	text := ""
	if len(lines) > 0 {
		text = strings.Join(lines, "\n") + "\n"
	}
	s.keepLog(token, text)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return jsonReply(200, map[string]any{"success": true, "msg": "The logs are being uploaded to result_url.",
		"result_url": scheme + "://" + r.Host + logResultPrefix + token + ".log"})
}

// keepLog stores a log for its result URL, dropping the oldest past maxLogResults. Callers hold
// s.mu.
func (s *Sim) keepLog(token, text string) {
	a := &s.acct
	a.logs[token] = text
	a.logOrder = append(a.logOrder, token)
	for len(a.logOrder) > maxLogResults {
		delete(a.logs, a.logOrder[0])
		a.logOrder = a.logOrder[1:]
	}
}

// serveLogResult answers a result URL: the log as text, or 404 for a token it never issued or
// has dropped (S3's answer before the upload, on which the CLI tries again).
func (s *Sim) serveLogResult(r *http.Request) reply {
	token, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, logResultPrefix), ".log")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return textReply(405, "text/plain; charset=utf-8", "method not allowed\n")
	}
	s.mu.Lock()
	text, found := s.acct.logs[token]
	s.mu.Unlock()
	if !ok || !found {
		return textReply(404, "application/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>")
	}
	return textReply(200, "text/plain; charset=utf-8", text)
}

// containerLog is what the instance's container has printed by now: the image pull while it
// loads, then the start, and how it stopped or failed.
func (s *Sim) containerLog(in *instance, now time.Time) []string {
	if in.ph == phProvisioning && in.fail == "" {
		return nil
	}
	repo, tag, _ := strings.Cut(in.image, ":")
	if tag == "" {
		tag = "latest"
	}
	sum := sha256.Sum256([]byte(in.image))
	lines := []string{tag + ": Pulling from " + repo}
	layers := 3 + int(sum[0]%3)
	pulled := in.ph != phLoading || !in.nextAt.IsZero() && now.Sub(in.phAt) >= in.nextAt.Sub(in.phAt)/2
	for i := range layers {
		layer := fmt.Sprintf("%012x", (uint64(in.id)+uint64(i))*0x9e3779b97f4a7c15>>16)
		lines = append(lines, layer+": Pulling fs layer")
		if pulled {
			lines = append(lines, layer+": Pull complete")
		}
	}
	if in.ph == phLoading && in.fail == "" {
		return lines
	}
	lines = append(lines, "Digest: sha256:"+hex.EncodeToString(sum[:]), "Status: Downloaded newer image for "+in.image)
	switch in.fail {
	case FailOCI:
		return append(lines, in.statusMsg(now).V)
	case FailExited:
		return append(lines, "Starting container", "Container exited with status 1")
	}
	lines = append(lines, "Starting container ("+in.runtype+")")
	if in.onstart != "" {
		lines = append(lines, "Running onstart script ("+strconv.Itoa(len(in.onstart))+" bytes)")
	}
	if in.ph == phStopped {
		lines = append(lines, "Container stopped")
	}
	return lines
}

// daemonLog is the host daemon's view of the contract: when it was created and its current phase.
func (s *Sim) daemonLog(in *instance) []string {
	stamp := func(t time.Time) string {
		return t.UTC().Format(time.RFC3339) + " vast-daemon: contract " + strconv.FormatInt(in.id, 10)
	}
	lines := []string{stamp(in.created) + fmt.Sprintf(": created on machine %d, image %s", in.off.value().MachineID, in.image)}
	switch {
	case in.fail != "":
		lines = append(lines, stamp(in.phAt)+": container failed ("+in.fail+")")
	case in.ph == phLoading:
		lines = append(lines, stamp(in.phAt)+": pulling image")
	case in.ph == phRunning:
		lines = append(lines, stamp(in.phAt)+": container running")
	case in.ph == phScheduling:
		lines = append(lines, stamp(in.phAt)+": waiting for GPUs")
	case in.ph == phStopped:
		lines = append(lines, stamp(in.phAt)+": container stopped")
	}
	return lines
}
