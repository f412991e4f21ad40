package leader

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/leaderelection/resourcelock"

	"github.com/vastwatch/vastwatch/internal/clock"
)

// recordLock is a resourcelock.Interface over one in-memory record.
type recordLock struct {
	rec     resourcelock.LeaderElectionRecord
	updates int
}

var _ resourcelock.Interface = (*recordLock)(nil)

func (l *recordLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	r := l.rec
	return &r, []byte(r.HolderIdentity), nil
}
func (l *recordLock) Create(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.rec = r
	return nil
}
func (l *recordLock) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	l.updates++
	l.rec = r
	return nil
}
func (l *recordLock) RecordEvent(string) {}
func (l *recordLock) Identity() string   { return "me" }
func (l *recordLock) Describe() string   { return "ns/lease" }

func TestReleaseOnlyALeaseWeHold(t *testing.T) {
	e, err := New(Config{Namespace: "ns", LeaseName: "lease", Identity: "me"}, fake.NewClientset().CoordinationV1(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, holder string
		released     bool
	}{
		{"our lease is released", "me", true},
		{"a lease another replica took meanwhile is left alone", "other", false},
		{"a lease nobody holds is left alone", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inner := &recordLock{rec: resourcelock.LeaderElectionRecord{HolderIdentity: tc.holder, LeaseDurationSeconds: 15}}
			l := &watchedLock{Interface: inner, e: e, c: &campaign{cancel: func() {}}}
			if _, _, err := l.Get(t.Context()); err != nil {
				t.Fatal(err)
			}
			// client-go's release: an empty holder, whatever it last observed.
			err := l.Update(t.Context(), resourcelock.LeaderElectionRecord{LeaseDurationSeconds: 1})
			if released := inner.updates == 1; released != tc.released {
				t.Fatalf("released %v, want %v (err %v)", released, tc.released, err)
			}
			if !tc.released && (err == nil || !strings.Contains(err.Error(), "not by us")) {
				t.Errorf("error %v", err)
			}
		})
	}
}

// The deadline a renewal sets runs from when it was sent on the Elector's clock.
func TestRenewalIsDatedByTheInjectedClock(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	e, err := New(Config{Namespace: "ns", LeaseName: "lease", Identity: "me", Clock: clock.NewFake(at)}, fake.NewClientset().CoordinationV1(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &campaign{cancel: func() {}}
	l := &watchedLock{Interface: &recordLock{}, e: e, c: c}
	if err := l.Update(t.Context(), resourcelock.LeaderElectionRecord{HolderIdentity: "me", LeaseDurationSeconds: 15}); err != nil {
		t.Fatal(err)
	}
	if !c.lastWrite.Equal(at) {
		t.Errorf("renewal dated %v, want %v from the injected clock", c.lastWrite, at)
	}
}
