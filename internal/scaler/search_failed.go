package scaler

import "fmt"

// holdForFailedSearch makes a fleet whose market's search failed this cycle hold: without its
// market's offers it can neither rent nor replace, and it does nothing else either, so that one
// failed search never moves a fleet on half a view (docs/design.md §4). Its instances still
// count toward the account, and the other fleets act. It reports whether the fleet holds.
func (fp *fleetPlan) holdForFailedSearch() bool {
	if fp.f.Market == nil {
		return false
	}
	err, failed := fp.obs.Failed[fp.f.Market.Name]
	if !failed {
		return false
	}
	active := len(fp.pend)
	for _, m := range fp.managed {
		if m.Phase == PhasePending || m.Phase == PhaseRunning {
			active++
		}
	}
	if active < fp.target {
		fp.blocked = append(fp.blocked, ReasonAPIError)
	}
	fp.decide(DecisionHold, ReasonAPIError, fmt.Sprintf("%d/%d: %s", active, fp.target, oneLine(err.Error())))
	return true
}
