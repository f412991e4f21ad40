package policy

import (
	"reflect"
	"slices"
	"testing"
)

// TestKeysAreYAMLTags keeps the validators' key constants equal to the file structs' yaml
// tags: a renamed tag would otherwise leave a validator checking a path nothing is decoded to.
func TestKeysAreYAMLTags(t *testing.T) {
	cases := []struct {
		file any
		keys []string
	}{
		{fileConfig{}, []string{configPollInterval, configOwner, configOrphans, configAccount, configMarkets, configFleets,
			configAllowPrivate, configOrphanDrain, configSSHKeys}},
		{fileAccount{}, []string{accountCreditFloor, accountMaxPerHour, accountMaxPerMonth}},
		{fileMarket{}, []string{marketName, marketQuery, marketType, marketOrder, marketLimit, marketStorageGB, marketGroupBy}},
		{fileFleet{}, []string{fleetName, fleetMarket, fleetSize, fleetSchedule, fleetMaxPrice, fleetBudget, fleetMonthly,
			fleetInstance, fleetBootTimeout, fleetCooldown, fleetMaxActions, fleetScaleDown, fleetStoppedTTL, fleetMinDuration,
			fleetRebalance, fleetBid, fleetDiscovery, fleetSpread, fleetReadiness, fleetDrain, fleetAutoscale, fleetCold, fleetSSHKeys,
			fleetAvoid}},
		{fileSize{}, []string{sizeMin, sizeTarget, sizeMax}},
		{fileScheduleEntry{}, []string{scheduleCron, scheduleTarget, scheduleMin}},
		{fileInstance{}, []string{instanceImage, instanceDiskGB, instanceRuntype, instanceOnstart}},
		{fileCooldown{}, []string{cooldownScaleUp, cooldownScaleDown}},
		{fileRebalance{}, []string{rebalanceMinSavings, rebalanceMinAge}},
		{fileBid{}, []string{bidMultiplier, bidMaxPerHour}},
		{fileDiscovery{}, []string{discoveryPorts}},
		{fileSpread{}, []string{spreadMaxPerMachine, spreadMaxPerHost, spreadMaxPerCountry}},
		{fileReadiness{}, []string{readinessPort, readinessPath, readinessTimeout}},
		{fileDrain{}, []string{drainWebhook, drainTimeout, drainDelay}},
		{fileAutoscale{}, []string{autoscaleDemand, autoscalePriceCurve, autoscaleStabilization}},
		{fileDemand{}, []string{demandPrometheus, demandQuery, demandPerInstance, demandStaleAfter}},
		{filePrometheus{}, []string{prometheusURL, prometheusHTTPConfig}},
		{fileCurvePoint{}, []string{curveInstances, curveMaxPrice}},
		{fileStabilization{}, []string{stabilizationScaleUp, stabilizationScaleDown}},
		{fileCold{}, []string{coldInstances}},
		{fileAvoid{}, []string{avoidMaxShare}},
	}
	for _, c := range cases {
		typ := reflect.TypeOf(c.file)
		tags := yamlFields(typ)
		for _, k := range c.keys {
			if !slices.Contains(tags, k) {
				t.Errorf("%s has no yaml tag %q; its tags are %v", typ.Name(), k, tags)
			}
		}
	}
}

func TestYAMLPathJoinsAsTheDecoderRecords(t *testing.T) {
	for _, c := range []struct{ got, want yamlPath }{
		{yamlPath("").dot(configOwner), "owner"},
		{yamlPath(configAccount).dot(accountCreditFloor), "account.credit_floor_dollars"},
		{yamlPath(configFleets).at(2).dot(fleetSchedule).at(0).dot(scheduleCron), "fleets[2].schedule[0].cron"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
