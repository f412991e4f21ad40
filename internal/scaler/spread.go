package scaler

import "strings"

// occupy adds n instances of the fleet at a machine, host and country.
func (fp *fleetPlan) occupy(machine, host int64, country string, n int) {
	if machine != 0 {
		fp.perMachine[machine] += n
	}
	if host != 0 {
		fp.perHost[host] += n
	}
	if country != "" {
		fp.perCountry[country] += n
	}
}

// spreadAllows reports whether one more instance at machine, host and country stays within
// the fleet's spread limits. An unknown country (null geolocation) never matches another, but
// is refused while max_per_country is set: it could be any country.
func (fp *fleetPlan) spreadAllows(machine, host int64, country string) bool {
	sp := fp.f.Spread
	switch {
	case sp.MaxPerMachine > 0 && fp.perMachine[machine]+1 > sp.MaxPerMachine:
		return false
	case sp.MaxPerHost > 0 && host != 0 && fp.perHost[host]+1 > sp.MaxPerHost:
		return false
	case sp.MaxPerCountry > 0 && (country == "" || fp.perCountry[country]+1 > sp.MaxPerCountry):
		return false
	}
	return true
}

// Country is the country code of a geolocation ("Quebec, CA" → "CA", ", US" → "US"); "" when
// unknown.
func Country(geo string) string {
	cc := geo
	if i := strings.LastIndexByte(geo, ','); i >= 0 {
		cc = geo[i+1:]
	}
	cc = strings.ToUpper(strings.TrimSpace(cc))
	if len(cc) != 2 {
		return ""
	}
	return cc
}
