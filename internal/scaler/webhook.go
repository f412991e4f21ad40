package scaler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// DrainNotice is the JSON a drain webhook is POSTed: the instance about to be removed.
type DrainNotice struct {
	Event      string            `json:"event"` // "drain"
	Owner      string            `json:"owner"`
	Fleet      string            `json:"fleet"`
	InstanceID int64             `json:"instance_id"`
	MachineID  int64             `json:"machine_id"`
	HostID     int64             `json:"host_id,omitempty"`
	Label      string            `json:"label"`
	GPUName    string            `json:"gpu_name"`
	NumGPUs    int               `json:"num_gpus"`
	PublicIP   string            `json:"public_ipaddr,omitempty"`
	Ports      map[string]string `json:"ports,omitempty"` // "8080/tcp" → "203.0.113.7:41234"
	Reason     string            `json:"reason"`          // above_target, rebalance, listing_ending
	Then       Kind              `json:"then"`            // destroy or stop
	Since      time.Time         `json:"since"`           // when the drain began
	Deadline   time.Time         `json:"deadline"`        // when it is removed whatever the webhook says
}

// Notifier delivers a drain notice. A nil error means the webhook answered 2xx.
type Notifier interface {
	Notify(ctx context.Context, webhook string, body []byte) error
}

// HTTPNotifier POSTs drain notices as JSON, each call bounded by Timeout (default 10s). Its
// errors never carry the webhook's URL, which may hold a token.
type HTTPNotifier struct {
	Client  *http.Client
	Timeout time.Duration
}

// DefaultNotifyTimeout bounds one drain webhook call.
const DefaultNotifyTimeout = 10 * time.Second

// Notify implements Notifier.
func (n HTTPNotifier) Notify(ctx context.Context, webhook string, body []byte) error {
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = DefaultNotifyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return errors.New("drain webhook: not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vastwatch-drain")
	c := n.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("drain webhook: %w", vastapi.StripURL(err))
	}
	defer res.Body.Close()
	_, _ = io.CopyN(io.Discard, res.Body, 64<<10)
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return fmt.Errorf("drain webhook: status %d", res.StatusCode)
	}
	return nil
}
