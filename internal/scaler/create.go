package scaler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// createOne plans one create for the fleet, or says why it cannot: every rule of
// docs/design.md §5 that the plan can check (the executor re-checks the offer just before
// renting).
func (fp *fleetPlan) createOne(detail string) (reason, decision string) {
	if reason, decision = fp.createBlocked(0); reason != "" {
		return reason, decision
	}
	o, price, bid, why := fp.pickOffer(pick{lapse: true})
	if o == nil {
		return why, DecisionBlocked
	}
	if fp.avoid.floor[o.MachineID] {
		detail += fmt.Sprintf("; avoidance of machine %d lapsed early: only avoided machines fit", o.MachineID)
	}
	fp.emitCreate(o, price, bid, ReasonBelowTarget, detail, 0)
	return "", ""
}

// createBlocked says why no create of the fleet can be planned now, whatever the offer, and
// whether that blocks the fleet or only makes it wait; "" when none does. surge is how far over
// max the create may take the fleet: one for a make-before-break replacement.
func (fp *fleetPlan) createBlocked(surge int) (reason, decision string) {
	f := fp.f
	switch {
	case fp.st.CreatesBlocked != "":
		return ReasonJournal, DecisionBlocked
	case f.Market == nil || f.Market.Type == vastapi.Reserved:
		return ReasonReservedMarket, DecisionBlocked
	case fp.now.Before(fp.st.CreatesNotBefore):
		return ReasonReconciling, DecisionWait
	case fp.count >= f.Max+surge:
		return ReasonMaxInstances, DecisionBlocked
	case fp.obs.User.Credit < fp.cfg.Account.CreditFloor:
		return ReasonCreditFloor, DecisionBlocked
	case fp.actions >= fp.limit:
		return ReasonMaxActions, DecisionWait
	case fp.monthUnknown(f):
		return ReasonMonthlyBudget, DecisionBlocked
	case fp.priceUnknown():
		return ReasonPriceUnknown, DecisionBlocked
	}
	return "", ""
}

// emitCreate plans the create of o for the fleet and books its price and its place.
func (fp *fleetPlan) emitCreate(o *vastapi.Offer, price, bid float64, reason, detail string, replaces int64) {
	f := fp.f
	nonce := makeNonce(fp.now, f.Name, o.ID, fp.seq)
	fp.seq++
	label := Label(fp.cfg.Owner, f.Name, nonce)
	req := createRequest(f, label, bid)
	q := f.Market.Query.Clone()
	q.Set("id", vastapi.OpEq, vastapi.NumberValue(float64(o.ID)))
	q.Limit = 1
	fp.emit(Action{Kind: KindCreate, Reason: reason, Detail: detail, MachineID: o.MachineID,
		Price: price, Offer: *o, Nonce: nonce, Label: label, Bid: bid, Request: req, Query: q,
		Market: f.Market.Name, Replaces: replaces})
	fp.count++
	fp.committed += price
	fp.account += price
	fp.takenOff[o.ID] = true
	fp.takenMac[o.MachineID] = true
	fp.occupy(o.MachineID, o.HostID, Country(o.Geolocation.Or("")), 1)
}

// createRequest is the create body for the fleet's template: the label set in the request
// itself (ownership, docs/design.md §6) and, on a bid market, always an explicit price.
func createRequest(f *policy.Fleet, label string, bid float64) vastapi.CreateRequest {
	t := f.Instance
	req := vastapi.CreateRequest{
		Image:          t.Image,
		DiskGB:         t.DiskGB,
		Label:          label,
		Onstart:        t.Onstart,
		Runtype:        t.Runtype,
		Args:           slices.Clone(t.Args),
		ImageLogin:     t.ImageLogin.Reveal(),
		TemplateHashID: t.TemplateHashID,
	}
	if len(t.Env) > 0 {
		req.Env = make(map[string]string, len(t.Env))
		for _, e := range t.Env {
			req.Env[e.Name] = e.Value.Reveal()
		}
	}
	// The ports the daemon reaches (readiness, /sd) must be mapped: Vast maps only the container
	// ports a create asks for with `-p HOST:CONTAINER` env keys (docs/vast-api.md §3).
	for _, port := range exposedPorts(f) {
		if !mapsPort(req.Env, port) {
			if req.Env == nil {
				req.Env = map[string]string{}
			}
			req.Env[fmt.Sprintf("-p %d:%d", port, port)] = "1"
		}
	}
	if bid > 0 {
		b := bid
		req.Price = &b
	}
	return req
}

// exposedPorts are the container ports the daemon reaches on the fleet's instances.
func exposedPorts(f *policy.Fleet) []int {
	ports := slices.Clone(f.DiscoveryPorts)
	if f.Readiness != nil && !slices.Contains(ports, f.Readiness.Port) {
		ports = append(ports, f.Readiness.Port)
	}
	return ports
}

// mapsPort reports whether env already has a `-p HOST:PORT` (or PORT/tcp) key for the
// container port.
func mapsPort(env map[string]string, port int) bool {
	suffix := ":" + strconv.Itoa(port)
	for k := range env {
		if strings.HasPrefix(k, "-p ") && (strings.HasSuffix(k, suffix) || strings.HasSuffix(k, suffix+"/tcp")) {
			return true
		}
	}
	return false
}
