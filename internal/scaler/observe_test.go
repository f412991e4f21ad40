package scaler_test

import (
	"context"
	"errors"
	"testing"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/scaler"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// fakeReader is a Reader of func fields that counts calls.
type fakeReader struct {
	searches, lists, users int
	search                 func(q vastapi.Query) ([]vastapi.Offer, error)
	listErr, userErr       error
}

var _ scaler.Reader = (*fakeReader)(nil)

func (f *fakeReader) SearchOffers(_ context.Context, q vastapi.Query) ([]vastapi.Offer, error) {
	f.searches++
	return f.search(q)
}
func (f *fakeReader) ListInstances(context.Context) ([]vastapi.Instance, error) {
	f.lists++
	return []vastapi.Instance{{ID: 1}}, f.listErr
}
func (f *fakeReader) CurrentUser(context.Context) (vastapi.User, error) {
	f.users++
	return vastapi.User{Credit: 42}, f.userErr
}

func TestObserve(t *testing.T) {
	q := vastapi.Query{Type: vastapi.OnDemand}
	q.Set("num_gpus", vastapi.OpEq, vastapi.NumberValue(1))
	other := q.Clone()
	other.Set("num_gpus", vastapi.OpEq, vastapi.NumberValue(2))
	cfg := &policy.Config{Markets: []*policy.Market{
		{Name: "a", Query: q}, {Name: "a-again", Query: q.Clone()}, {Name: "b", Query: other},
	}}
	one, two := testOffer(1, 0.1), testOffer(2, 0.2)
	two.NumGPUs = 2
	reply := func(vastapi.Query) ([]vastapi.Offer, error) { return []vastapi.Offer{one, two}, nil }

	t.Run("one search per distinct query, plus the instance list and the account", func(t *testing.T) {
		r := &fakeReader{search: reply}
		obs, err := scaler.Observe(context.Background(), r, cfg, t0)
		if err != nil {
			t.Fatal(err)
		}
		if r.searches != 2 || r.lists != 1 || r.users != 1 || obs.Searches != 2 {
			t.Fatalf("searches %d lists %d users %d", r.searches, r.lists, r.users)
		}
		if obs.User.Credit != 42 || len(obs.Instances) != 1 || !obs.At.Equal(t0) {
			t.Fatalf("obs %+v", obs)
		}
	})
	t.Run("replies are re-checked locally against the market's query", func(t *testing.T) {
		r := &fakeReader{search: reply}
		obs, _ := scaler.Observe(context.Background(), r, cfg, t0)
		for name, want := range map[string]int64{"a": 1, "a-again": 1, "b": 2} {
			if got := obs.Offers[name]; len(got) != 1 || got[0].ID != want {
				t.Errorf("market %s: %v", name, got)
			}
		}
	})
	t.Run("a failed search fails only its market", func(t *testing.T) {
		r := &fakeReader{search: func(q vastapi.Query) ([]vastapi.Offer, error) {
			if q.Key() == other.Key() {
				return nil, errors.New("503")
			}
			return reply(q)
		}}
		obs, err := scaler.Observe(context.Background(), r, cfg, t0)
		if err != nil {
			t.Fatal(err)
		}
		if obs.Failed["b"] == nil || obs.Failed["a"] != nil || len(obs.Failed) != 1 {
			t.Fatalf("failed markets %v, want b alone", obs.Failed)
		}
		if _, ok := obs.Offers["b"]; ok || len(obs.Offers["a"]) != 1 || len(obs.Offers["a-again"]) != 1 {
			t.Fatalf("offers %v", obs.Offers)
		}
		if obs.Searches != 1 || len(obs.Instances) != 1 || obs.User.Credit != 42 {
			t.Fatalf("searches %d, instances %d, credit %v", obs.Searches, len(obs.Instances), obs.User.Credit)
		}
	})
	for _, c := range []struct {
		name string
		r    *fakeReader
	}{
		{"a failed instance list fails the whole observation", &fakeReader{search: reply, listErr: errors.New("reset")}},
		{"a failed account call fails the whole observation", &fakeReader{search: reply, userErr: errors.New("429")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			obs, err := scaler.Observe(context.Background(), c.r, cfg, t0)
			if err == nil || obs.Offers != nil || obs.Instances != nil {
				t.Fatalf("err %v obs %+v", err, obs)
			}
		})
	}
}
