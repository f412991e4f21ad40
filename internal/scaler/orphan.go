package scaler

import (
	"fmt"

	"github.com/vastwatch/vastwatch/internal/policy"
)

// planOrphans destroys managed instances whose fleet left the config, only when the config
// says `orphans: destroy` (docs/design.md §6); otherwise each such fleet's are kept and said so.
func (p *planner) planOrphans() {
	if p.cfg.Orphans != policy.OrphansDestroy {
		for name, n := range p.res.Orphans {
			p.decide(name, DecisionHold, ReasonOrphan, fmt.Sprintf("%d kept", n))
		}
		return
	}
	for i := range p.res.Managed {
		m := &p.res.Managed[i]
		if !m.Orphan {
			continue
		}
		p.res.Actions = append(p.res.Actions, Action{Kind: KindDestroy, Fleet: m.Fleet, Reason: ReasonOrphan,
			InstanceID: m.Instance.ID, MachineID: m.Instance.MachineID, Price: m.Price})
		p.account -= m.Price
		p.decide(m.Fleet, DecisionCleanup, ReasonOrphan, fmt.Sprintf("instance %d", m.Instance.ID))
	}
}
