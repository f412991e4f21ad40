package leader

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// Defaults of client-go's core components; a new leader takes over at most one lease duration
// after the old one's last renewal.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config says which Lease the replicas compete for and how fast.
type Config struct {
	// Namespace and LeaseName name the coordination.k8s.io Lease; both are required.
	Namespace, LeaseName string
	// Identity names this replica in the Lease and must differ between replicas. Empty means
	// the pod name (env POD_NAME) or, outside a pod, the hostname with a random suffix, since
	// two processes on one host sharing an identity would both believe they lead.
	Identity string
	// LeaseDuration is how long followers wait after the last renewal they saw before they
	// take over; the Lease stores it in whole seconds, so it must be one. RenewDeadline is how
	// long the leader goes without a successful renewal before it stops leading; it must be
	// shorter than LeaseDuration so that the old leader has stopped before anyone can take
	// over. RetryPeriod is the pause between attempts. Zero means the Default above.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Kubeconfig is the file NewClient reads; "" means the pod's service account.
	Kubeconfig string
	// Clock is every time the election reads: when a lease it observed expires, the retries,
	// the renew deadline, the lease's acquire and renew times. nil means clock.Real{}.
	Clock clock.Clock
}

// withDefaults fills the zero fields. It reads the environment and the hostname once, here.
func (c Config) withDefaults() (Config, error) {
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = DefaultRenewDeadline
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Identity == "" {
		c.Identity = os.Getenv("POD_NAME")
	}
	if c.Identity == "" {
		host, err := os.Hostname()
		if err != nil {
			return c, fmt.Errorf("leader election identity from hostname: %w", err)
		}
		c.Identity = host + "_" + randomSuffix()
	}
	return c, nil
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24
	return hex.EncodeToString(b)
}

// Validate reports every problem of an already defaulted Config.
func (c Config) Validate() error {
	var errs []error
	if c.Namespace == "" {
		errs = append(errs, errors.New("namespace is empty"))
	}
	if c.LeaseName == "" {
		errs = append(errs, errors.New("lease name is empty"))
	}
	if c.Identity == "" {
		errs = append(errs, errors.New("identity is empty"))
	}
	if c.LeaseDuration < time.Second || c.LeaseDuration%time.Second != 0 {
		errs = append(errs, fmt.Errorf("lease duration %v: must be a whole number of seconds (the Lease stores seconds)", c.LeaseDuration))
	}
	if c.RetryPeriod <= 0 {
		errs = append(errs, fmt.Errorf("retry period %v: must be positive", c.RetryPeriod))
	}
	if c.RenewDeadline >= c.LeaseDuration {
		errs = append(errs, fmt.Errorf("renew deadline %v: must be shorter than the lease duration %v", c.RenewDeadline, c.LeaseDuration))
	}
	if float64(c.RenewDeadline) <= JitterFactor*float64(c.RetryPeriod) {
		errs = append(errs, fmt.Errorf("renew deadline %v: must exceed %v times the retry period %v", c.RenewDeadline, JitterFactor, c.RetryPeriod))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("leader election config: %w", err)
	}
	return nil
}
