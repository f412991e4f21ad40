package daemon

import (
	"cmp"
	"net/http"
	"os"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/metrics"
	"github.com/vastwatch/vastwatch/internal/scaler"
)

// DefaultAPIURL is the real Vast.ai API.
const DefaultAPIURL = "https://console.vast.ai"

// Options are the settings of `vastwatch run`, after flags and the environment have been
// applied (docs/design.md §2).
type Options struct {
	ConfigFile    string   // "" with Sim.Enabled: the embedded example config
	Listen        []string // host:port or vsock://:port, each served
	SystemdSocket bool     // serve systemd's socket-activated listeners instead of Listen
	TelemetryPath string
	WebConfig     string
	// Lifecycle enables POST /-/reload and /-/quit (--web.enable-lifecycle), as in Prometheus.
	Lifecycle bool
	// StateDir holds the journal and the spend book; "" under Sim: a temporary directory Run
	// removes. Unused with Leader.Enabled: the state is then a ConfigMap beside the Lease.
	StateDir       string
	DryRun         bool
	APIURL         string
	PacingFactor   float64
	PacingSet      bool // PacingFactor was given; else the simulator paces at 1/speed
	ReloadInterval time.Duration
	StartGrace     time.Duration
	PendingGrace   time.Duration
	ShutdownGrace  time.Duration

	Sim    SimOptions
	Leader LeaderOptions
	Record RecordOptions
	// WatchOnly runs the observation loop without a scaler (`vastwatch record`): nothing is
	// planned to act, no journal is kept, and no mutating endpoint is ever called.
	WatchOnly bool

	// Build labels vastwatch_build_info; its Version also heads the status page and the
	// API client's User-Agent.
	Build metrics.BuildInfo
	// Getenv resolves {env: NAME} references of the config.
	Getenv func(string) string
	// Signals delivers SIGHUP (a reload); nil when not wired.
	Signals <-chan os.Signal
	// Clock is the daemon's time (default clock.Real{}).
	Clock clock.Clock
	// Transport, when set (tests), carries the API requests instead of the default transport.
	Transport http.RoundTripper
	// Notifier, when set (tests), calls the drain webhooks instead of HTTP.
	Notifier scaler.Notifier
}

// SimOptions run the daemon against the in-process simulated market.
type SimOptions struct {
	Enabled  bool
	Speed    float64
	Seed     int64
	Machines int
	Credit   float64
	PublicIP string
}

// LeaderOptions are the --leader-elect settings.
type LeaderOptions struct {
	Enabled bool
	// Namespace of the Lease ("" = $POD_NAMESPACE, else default).
	Namespace     string
	LeaseName     string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Kubeconfig    string
	FollowerPoll  time.Duration
	// Identity is the name the lease is held under ("" = pod name or hostname).
	Identity string
	// Client and ConfigMaps (of Namespace) talk to the API server (tests); nil = in-cluster or
	// Kubeconfig.
	Client     LeaseClient
	ConfigMaps ConfigMapClient
}

// withDefaults fills what a zero Options leaves unset.
func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.TelemetryPath == "" {
		o.TelemetryPath = "/metrics"
	}
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	if o.PendingGrace == 0 {
		o.PendingGrace = scaler.DefaultPendingGrace
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	if o.Leader.Namespace == "" {
		o.Leader.Namespace = cmp.Or(o.Getenv("POD_NAMESPACE"), "default")
	}
	return o
}
