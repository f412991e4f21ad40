package leader

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/vastwatch/vastwatch/internal/clock"
)

func TestNewValidatesConfig(t *testing.T) {
	valid := Config{Namespace: "vastwatch", LeaseName: "vastwatch", Identity: "pod-0"}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string // every message must appear
	}{
		{"the defaults are valid", func(*Config) {}, nil},
		{"a missing namespace and lease name are both reported", func(c *Config) { c.Namespace, c.LeaseName = "", "" },
			[]string{"namespace is empty", "lease name is empty"}},
		{"a lease duration in fractions of a second is refused", func(c *Config) { c.LeaseDuration = 1500 * time.Millisecond },
			[]string{"lease duration 1.5s: must be a whole number of seconds"}},
		{"a renew deadline not shorter than the lease is refused", func(c *Config) {
			c.LeaseDuration, c.RenewDeadline = 5*time.Second, 5*time.Second
		}, []string{"renew deadline 5s: must be shorter than the lease duration 5s"}},
		{"a retry period too close to the renew deadline is refused", func(c *Config) {
			c.RenewDeadline, c.RetryPeriod = 2*time.Second, 2*time.Second
		}, []string{"renew deadline 2s: must exceed 1.2 times the retry period 2s"}},
		{"a negative retry period is refused", func(c *Config) { c.RetryPeriod = -time.Second },
			[]string{"retry period -1s: must be positive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.edit(&cfg)
			_, err := New(cfg, fake.NewClientset().CoordinationV1().Leases("ns"), nil)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	t.Run("zero durations take client-go's defaults", func(t *testing.T) {
		e, err := New(valid, fake.NewClientset().CoordinationV1().Leases("ns"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.cfg.LeaseDuration != 15*time.Second || e.cfg.RenewDeadline != 10*time.Second || e.cfg.RetryPeriod != 2*time.Second {
			t.Errorf("durations %v %v %v", e.cfg.LeaseDuration, e.cfg.RenewDeadline, e.cfg.RetryPeriod)
		}
	})
	t.Run("no clock means the real clock", func(t *testing.T) {
		e, err := New(valid, fake.NewClientset().CoordinationV1().Leases("ns"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := e.clock.(clock.Real); !ok {
			t.Errorf("clock %T, want clock.Real", e.clock)
		}
	})
	t.Run("no client is refused", func(t *testing.T) {
		if _, err := New(valid, nil, nil); err == nil {
			t.Error("nil client accepted")
		}
	})
}

func TestIdentityDefaults(t *testing.T) {
	cfg := Config{Namespace: "vastwatch", LeaseName: "vastwatch"}
	t.Run("the pod name when POD_NAME is set", func(t *testing.T) {
		t.Setenv("POD_NAME", "vastwatch-7d9f-abcde")
		e, err := New(cfg, fake.NewClientset().CoordinationV1().Leases("ns"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.Identity() != "vastwatch-7d9f-abcde" {
			t.Errorf("identity %q", e.Identity())
		}
	})
	t.Run("otherwise the hostname with a suffix that differs between processes", func(t *testing.T) {
		t.Setenv("POD_NAME", "")
		a, err := New(cfg, fake.NewClientset().CoordinationV1().Leases("ns"), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := New(cfg, fake.NewClientset().CoordinationV1().Leases("ns"), nil)
		if !regexp.MustCompile(`^.+_[0-9a-f]{8}$`).MatchString(a.Identity()) || a.Identity() == b.Identity() {
			t.Errorf("identities %q and %q", a.Identity(), b.Identity())
		}
	})
	t.Run("an explicit identity wins", func(t *testing.T) {
		t.Setenv("POD_NAME", "pod")
		c := cfg
		c.Identity = "mine"
		e, err := New(c, fake.NewClientset().CoordinationV1().Leases("ns"), nil)
		if err != nil || e.Identity() != "mine" {
			t.Errorf("identity %q, err %v", e.Identity(), err)
		}
	})
}
