package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// validator checks the decoded file and builds the runtime model, adding problems to d. Each
// section of the file has its own check (market.go's marketCheck, fleet.go's fleetCheck and
// the fleet_*.go sections); they all record through bad, so the problems come out in one list,
// each with its path and line.
type validator struct {
	d        *decoder
	fc       *fileConfig
	warnings []string
}

// line is the line of path, or of its nearest ancestor that has one.
func (v *validator) line(path yamlPath) int {
	p := string(path)
	for p != "" {
		if l, ok := v.d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// bad records a validation problem, unless the value at path already failed to decode (that
// problem says it better).
func (v *validator) bad(path yamlPath, format string, a ...any) {
	if v.failed(path) {
		return
	}
	v.d.problems = append(v.d.problems, Problem{Path: string(path), Line: v.line(path), Msg: fmt.Sprintf(format, a...)})
}

func (v *validator) warn(path yamlPath, format string, a ...any) {
	v.warnings = append(v.warnings, Problem{Path: string(path), Line: v.line(path), Msg: fmt.Sprintf(format, a...)}.String())
}

// isSet reports whether the file gave path a non-null value.
func (v *validator) isSet(path yamlPath) bool { return v.d.set[string(path)] }

// failed reports whether the value at path could not be decoded (the decoder said so already).
func (v *validator) failed(path yamlPath) bool { return v.d.failed[string(path)] }

// section validates one market or one fleet. Its checks record every problem under the
// section's path p; ok falls to false on any problem that leaves the section unusable, and an
// unusable section is not built (the file fails to load anyway, but a fleet must never point
// at a half-checked market).
type section struct {
	*validator
	p  yamlPath // markets[i] or fleets[i]
	ok bool
}

// fail records a problem that makes the section unusable.
func (s *section) fail(path yamlPath, format string, a ...any) {
	s.bad(path, format, a...)
	s.ok = false
}

func money(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (v *validator) nonNegative(path yamlPath, f float64, unit string) {
	if f < 0 {
		v.bad(path, "%s is negative; allowed: 0 or more %s", money(f), unit)
	}
}

// names checks the names of one kind of section (markets, fleets): valid, and unique with the
// line of the first holder in the message.
type names struct {
	kind  string // "market" or "fleet", as the messages say
	re    *regexp.Regexp
	rule  string
	first map[string]int // name -> line it was first given at
}

// check records the problem with name at path, if any, and reports whether it is usable.
func (n *names) check(v *validator, path yamlPath, name string) bool {
	switch {
	case name == "":
		v.bad(path, "required; allowed: %s", n.rule)
	case !n.re.MatchString(name):
		v.bad(path, "%s is not a valid %s name; allowed: %s", strconv.Quote(name), n.kind, n.rule)
	default:
		if l, dup := n.first[name]; dup {
			v.bad(path, "duplicate %s name %s (first at line %d); allowed: unique names", n.kind, strconv.Quote(name), l)
			return false
		}
		n.first[name] = v.line(path)
		return true
	}
	return false
}

func (v *validator) validate() *Config {
	fc := v.fc
	cfg := &Config{
		PollInterval: time.Duration(fc.PollInterval),
		DryRun:       fc.DryRun,
		Owner:        fc.Owner,
		Orphans:      OrphanPolicy(fc.Orphans),
		Account: Account{
			CreditFloor:     fc.Account.CreditFloor,
			MaxSpendPerHour: fc.Account.MaxSpendPerHour,
			MonthlyBudget:   fc.Account.MaxSpendPerMonth,
		},
	}
	cfg.AllowPrivateAddresses = fc.AllowPrivateAddresses
	cfg.OrphanDrain = (&fleetCheck{section{validator: v, ok: true}}).drainAt(configOrphanDrain, fc.OrphanDrain)
	v.topLevel(cfg)
	cfg.SSHKeys = v.sshKeys(configSSHKeys, fc.SSHKeys, nil)
	byName := map[string]*Market{}
	marketsSeen := &names{kind: "market", re: marketNameRe, rule: marketNameRule, first: map[string]int{}}
	for i := range fc.Markets {
		if m := v.market(i, &fc.Markets[i], marketsSeen); m != nil {
			cfg.Markets = append(cfg.Markets, m)
			if _, dup := byName[m.Name]; !dup {
				byName[m.Name] = m
			}
		}
	}
	fleetsSeen := &names{kind: "fleet", re: nameRe, rule: nameRule, first: map[string]int{}}
	for i := range fc.Fleets {
		if f := v.fleet(i, &fc.Fleets[i], byName, fleetsSeen); f != nil {
			cfg.Fleets = append(cfg.Fleets, f)
		}
	}
	v.pacing(cfg)
	cfg.Warnings = v.warnings
	return cfg
}

// topLevel checks the keys outside markets and fleets.
func (v *validator) topLevel(cfg *Config) {
	fc := v.fc
	if cfg.PollInterval < MinPollInterval {
		v.bad(configPollInterval, "%s is too short; allowed: %s or more", cfg.PollInterval, MinPollInterval)
	}
	switch {
	case fc.Owner == "" && len(fc.Fleets) > 0:
		v.bad(configOwner, "required when fleets are configured; allowed: %s (it goes into instance labels vastwatch:<owner>:<fleet>:<nonce>)", nameRule)
	case fc.Owner == "" && fc.Orphans == string(OrphansDestroy):
		v.bad(configOwner, "required with orphans: destroy (only instances carrying the owner tag are ever destroyed); allowed: %s", nameRule)
	case fc.Owner != "" && !nameRe.MatchString(fc.Owner):
		v.bad(configOwner, "%s is not a valid owner tag; allowed: %s", strconv.Quote(fc.Owner), nameRule)
	}
	switch cfg.Orphans {
	case OrphansKeep, OrphansDestroy:
	default:
		v.bad(configOrphans, "%s is not an orphan policy; allowed: keep or destroy", strconv.Quote(fc.Orphans))
	}
	account := yamlPath(configAccount)
	v.nonNegative(account.dot(accountCreditFloor), fc.Account.CreditFloor, "dollars")
	v.nonNegative(account.dot(accountMaxPerHour), fc.Account.MaxSpendPerHour, "dollars per hour (0 = no cap)")
	v.nonNegative(account.dot(accountMaxPerMonth), fc.Account.MaxSpendPerMonth, "dollars per month (0 = no cap)")
}

// pacing warns when the distinct searches of one poll cannot fit the poll interval at the
// published search pacing (identical queries are searched once).
func (v *validator) pacing(cfg *Config) {
	n := cfg.DistinctSearches()
	need := time.Duration(n) * vastapi.SearchMinInterval
	if n > 0 && need > cfg.PollInterval {
		v.warn(configPollInterval, "%d distinct searches need %s per poll at the published pacing of one search every %s, more than the poll interval %s; polls will run late (raise poll_interval to %s or more, or share identical queries between markets)",
			n, need, vastapi.SearchMinInterval, cfg.PollInterval, need)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
