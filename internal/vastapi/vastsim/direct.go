package vastsim

import (
	"context"
	"fmt"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Direct is the simulator's read API as Go calls: what a search, the instance list and the
// account would reply, without encoding and decoding them. A backtest replays tens of
// thousands of polls, and most of a poll's time over HTTP is JSON. The replies are the HTTP
// ones field for field (TestDirectMatchesHTTP); mutations still go over HTTP, where the create
// path's checks live.
type Direct struct{ s *Sim }

// Direct returns the simulator's direct read API.
func (s *Sim) Direct() Direct { return Direct{s} }

// SearchOffers returns what POST /api/v0/bundles/ returns for q: the matching offers, priced
// for q, in q's order, limited.
func (d Direct) SearchOffers(ctx context.Context, q vastapi.Query) ([]vastapi.Offer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	m, err := q.Compile(now)
	if err != nil {
		return nil, fmt.Errorf("vastsim: invalid query: %w", err)
	}
	p := pricing{typ: q.Type, storage: -1}
	if p.typ == "" {
		p.typ = vastapi.OnDemand
	}
	if q.AllocatedStorage.Valid {
		p.storage = q.AllocatedStorage.V
	}
	c := s.pricedFor(p)
	idx := s.searchIndex(c, newParsed(q), m, now)
	out := make([]vastapi.Offer, len(idx))
	nowSec := float64(now.UnixNano()) / 1e9
	var sc scratch
	for k, i := range idx {
		out[k] = *s.at(c, i, &sc)
		out[k].GPUIDs = append([]int64(nil), out[k].GPUIDs...)
		if out[k].EndDate.Valid {
			out[k].Duration = vastapi.Some(out[k].EndDate.V - nowSec)
		}
	}
	return out, nil
}

// ListInstances returns the account's live instances as GET /api/v1/instances/ lists them.
func (d Direct) ListInstances(ctx context.Context) ([]vastapi.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []vastapi.Instance
	for _, in := range s.instList {
		if in.destroyed {
			continue
		}
		w := s.view(in, now)
		w.Instance.JupyterToken = vastapi.NewSecret(w.JupyterToken)
		if len(w.ExtraEnv) == 0 {
			w.ExtraEnv = nil // as the client decodes an empty list
		}
		out = append(out, w.Instance)
	}
	return out, nil
}

// CurrentUser returns the account as GET /api/v0/users/current/ shows it.
func (d Direct) CurrentUser(ctx context.Context) (vastapi.User, error) {
	if err := ctx.Err(); err != nil {
		return vastapi.User{}, err
	}
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now()
	return vastapi.User{ID: 4242, Username: "sim", Email: "sim@example.invalid", Credit: s.credit,
		BalanceThreshold: vastapi.Some(5.0), CanPay: true, HasBilling: true}, nil
}
