package scaler

import (
	"cmp"
	"slices"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// createIndex finds the journal's create records by instance id and by fleet and nonce.
type createIndex struct {
	byID    map[int64]*CreateRecord
	byNonce map[string]*CreateRecord
}

func indexCreates(creates []CreateRecord) createIndex {
	idx := createIndex{byID: make(map[int64]*CreateRecord, len(creates)),
		byNonce: make(map[string]*CreateRecord, len(creates))}
	for i := range creates {
		c := &creates[i]
		if c.InstanceID != 0 {
			idx.byID[c.InstanceID] = c
		}
		idx.byNonce[c.Fleet+"\x00"+c.Nonce] = c
	}
	return idx
}

// classify finds our instances, their fleets, phases and prices, and the pending creates.
func (p *planner) classify() {
	idx := indexCreates(p.st.Creates)
	listed := make(map[*CreateRecord]bool)
	p.res.Managed = make([]Managed, 0, len(p.obs.Instances))
	for i := range p.obs.Instances {
		in := &p.obs.Instances[i]
		fleet, nonce, rec, ours := p.owner(in, idx)
		if !ours {
			continue // not ours: never touched
		}
		if rec != nil {
			listed[rec] = true
		}
		p.res.Managed = append(p.res.Managed, p.manage(in, fleet, nonce, rec))
	}
	slices.SortStableFunc(p.res.Managed, func(a, b Managed) int {
		return cmp.Or(cmp.Compare(a.Fleet, b.Fleet), cmp.Compare(a.Instance.ID, b.Instance.ID))
	})
	for i := range p.res.Managed {
		m := &p.res.Managed[i]
		p.byFleet[m.Fleet] = append(p.byFleet[m.Fleet], m)
		p.account += m.Price
		if m.Orphan {
			p.res.Orphans[m.Fleet]++
		}
	}
	p.markCold()
	p.pendingCreates(listed)
}

// owner says whether an instance is ours (docs/design.md §6): labelled with our owner, or
// journalled from one of our create replies; with its fleet, nonce and create record (nil when
// none).
func (p *planner) owner(in *vastapi.Instance, idx createIndex) (fleet, nonce string, rec *CreateRecord, ours bool) {
	owner, fleet, nonce, labelled := ParseLabel(in.Label.Or(""))
	labelledOurs := labelled && owner == p.cfg.Owner
	rec = idx.byID[in.ID]
	if rec == nil && labelledOurs {
		rec = idx.byNonce[fleet+"\x00"+nonce]
	}
	switch {
	case labelledOurs:
		return fleet, nonce, rec, true
	case rec != nil:
		return rec.Fleet, rec.Nonce, rec, true
	}
	return "", "", nil, false
}

// manage is one of our instances as the planner sees it: its phase (with the fleet's boot
// timeout, readiness probe and drain) and its committed price.
func (p *planner) manage(in *vastapi.Instance, fleet, nonce string, rec *CreateRecord) Managed {
	m := Managed{Instance: in, Fleet: fleet, Nonce: nonce}
	m.country = Country(in.Geolocation.Or(""))
	if rec != nil {
		m.Replaces = rec.Replaces
		m.failedReply = rec.FailedReply
		if m.country == "" {
			m.country = rec.Country
		}
	}
	f := p.fleets[fleet]
	var boot time.Duration
	disk := in.DiskSpace
	if f == nil {
		m.Orphan = true
	} else {
		boot = f.BootTimeout
		disk = f.Instance.DiskGB
	}
	bootSince := startTime(in)
	if t, ok := p.st.StartedByUs[in.ID]; ok && t.After(bootSince) {
		bootSince = t
	}
	_, stopped := p.st.StoppedByUs[in.ID]
	m.Phase, m.Why = Classify(in, p.now, bootSince, boot, stopped)
	if m.Phase == PhasePending && p.startFailed(in) {
		m.Phase, m.Why = PhaseFailed, WhyStartFailed
	}
	m.Ready = m.Phase == PhaseRunning
	if f != nil && f.Readiness != nil {
		p.gate(&m, f, bootSince)
	}
	if d, ok := p.st.Draining[in.ID]; ok && m.Phase != PhaseFailed {
		m.Phase, m.Ready, m.Drain = PhaseDraining, false, &d
	}
	var priced bool
	if m.Price, priced = instancePrice(in, disk, rec); !priced {
		m.Unpriced = true
		p.unpriced[fleet] = true
	}
	return m
}

// pendingCreates are the journal's creates not listed (listed holds those that are), each
// counted toward its fleet and the account until it shows up or its grace runs out.
func (p *planner) pendingCreates(listed map[*CreateRecord]bool) {
	for i := range p.st.Creates {
		c := &p.st.Creates[i]
		if listed[c] || !c.SeenAt.IsZero() {
			continue // listed now, or listed before and gone since
		}
		if p.st.PendingGrace > 0 && p.now.Sub(c.IntentAt) > p.st.PendingGrace {
			continue // never showed up within the grace period
		}
		p.pending[c.Fleet] = append(p.pending[c.Fleet], c)
		p.account += c.Price
	}
}
