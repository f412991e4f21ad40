package scaler

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/policy"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// API is everything a Scaler calls; *vastapi.Client satisfies it.
type API interface {
	Reader
	Mutator
	KeyAttacher
}

// Defaults of Options.
const (
	DefaultPendingGrace  = 10 * time.Minute
	DefaultStartGrace    = time.Minute
	DefaultAvoidFor      = time.Hour
	DefaultAvoidMax      = 24 * time.Hour
	DefaultOutbidGrace   = 10 * time.Minute
	DefaultListingMargin = time.Hour
)

// Options configure a Scaler.
type Options struct {
	Clock    clock.Clock
	API      API
	StateDir string
	// Store keeps the journal and the spend book; nil means the files of StateDir (StateDir ""
	// and no Store: no journal, creates blocked).
	Store Store
	// ReadOnRearm leaves the state unread until the first Rearm: a replica that may never lead
	// does not read it at start (with leader election, a leader claims it, then Rearms).
	ReadOnRearm bool
	Logger      *slog.Logger
	// DryRun forces dry-run whatever the config says (the config's dry_run also applies).
	DryRun bool
	// PendingGrace is how long an unlisted create counts toward its fleet (default 10m).
	PendingGrace time.Duration
	// StartGrace is how long after the first reconcile of a process creates stay held back
	// (default 1m; negative: none).
	StartGrace time.Duration
	// AvoidFor is how long a machine whose instance failed is not rented on (default 1h;
	// negative: never avoided).
	AvoidFor time.Duration
	// AvoidMax caps the avoidance, which doubles with each failure of the same machine within
	// FailureMemory (default 24h).
	AvoidMax time.Duration
	// OutbidGrace is how long an outbid instance that cannot be rebid within the caps is kept
	// before it is destroyed and replaced (default 10m; negative: at once).
	OutbidGrace time.Duration
	// ListingMargin is how long before its host listing ends an instance is replaced
	// make-before-break (default 1h; negative: never).
	ListingMargin time.Duration
	// Demand reads autoscaled fleets' demand (nil: their demand reads as unavailable).
	Demand DemandReader
	// Prober runs readiness probes (default NetProber); Notifier calls drain webhooks (default
	// HTTPNotifier).
	Prober   Prober
	Notifier Notifier
	// Bill, when set, is the month's charges as last read (nil: unknown); month-to-date spend
	// is never below them.
	Bill func() *Bill
	// Memory keeps the journal and the spend book in memory, never on disk, whatever StateDir
	// says: for backtests, which replay months of cycles in seconds (docs/backtest.md).
	Memory bool
	// OnAction and OnDecision, when set, see every outcome and decision (metrics, logs).
	OnAction   func(ActionOutcome)
	OnDecision func(Decision)
}

// Scaler runs cycles: observe, reconcile the journal, plan, execute. It holds the state that
// lives between cycles. Cycle is not meant to run concurrently with itself; the mutex only keeps
// a concurrent call safe.
type Scaler struct {
	o   Options
	log *slog.Logger

	mu           sync.Mutex
	journal      *Journal
	journalErr   error
	reconciled   bool
	notBefore    time.Time
	stoppedSince map[int64]time.Time
	outbidSince  map[int64]time.Time
	lastUp       map[string]time.Time
	lastDown     map[string]time.Time
	// book integrates committed spend into month-to-date totals (kept in the state dir);
	// while bookErr is set the persisted totals are unknown and book is an in-memory stand-in.
	book    *SpendBook
	bookErr error
	// carry is what the last cycle handed this one: the readiness probes, the demand and the
	// desired sizes (memory only: a restart probes again, boot_timeout runs from the
	// instance's start either way, and a scale-down then waits a whole stabilisation window).
	carry Carry
	// logged holds, by fleet, the decisions last logged at Info (decide).
	logged map[string]string
	// keys are the ssh keys given to our instances (memory only; sshkeys.go).
	keys keyBook
}

// New builds a Scaler. An unusable journal does not fail New: the scaler runs, but every
// create is blocked with the journal's error until it becomes readable.
func New(o Options) *Scaler {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PendingGrace <= 0 {
		o.PendingGrace = DefaultPendingGrace
	}
	if o.StartGrace == 0 {
		o.StartGrace = DefaultStartGrace
	} else if o.StartGrace < 0 {
		o.StartGrace = 0
	}
	if o.AvoidFor == 0 {
		o.AvoidFor = DefaultAvoidFor
	} else if o.AvoidFor < 0 {
		o.AvoidFor = 0
	}
	if o.AvoidMax <= 0 {
		o.AvoidMax = DefaultAvoidMax
	}
	if o.OutbidGrace == 0 {
		o.OutbidGrace = DefaultOutbidGrace
	} else if o.OutbidGrace < 0 {
		o.OutbidGrace = 0
	}
	if o.Prober == nil {
		o.Prober = NetProber{}
	}
	if o.Notifier == nil {
		o.Notifier = HTTPNotifier{}
	}
	if o.ListingMargin == 0 {
		o.ListingMargin = DefaultListingMargin
	} else if o.ListingMargin < 0 {
		o.ListingMargin = 0
	}
	s := &Scaler{
		o: o, log: o.Logger,
		stoppedSince: map[int64]time.Time{},
		outbidSince:  map[int64]time.Time{},
		lastUp:       map[string]time.Time{},
		lastDown:     map[string]time.Time{},
	}
	if o.ReadOnRearm {
		s.journalErr = errNotRead
		s.book, _ = LoadSpendBook(nil)
		return s
	}
	s.openJournal()
	if s.journalErr != nil {
		s.log.Error("journal unusable; creates blocked", "err", s.journalErr)
	}
	s.loadOutbid()
	s.openBook()
	return s
}

// CycleReport is what one cycle saw, decided and did.
type CycleReport struct {
	At          time.Time
	Observation Observation
	Plan        Result
	Outcomes    []ActionOutcome
	DryRun      bool
	// Carry is what this cycle hands the next: its probes, demand and desired sizes.
	Carry Carry
	// Avoided are the machines avoided at the end of the cycle (after this cycle's failures).
	Avoided []AvoidedMachine
	// Cost is the committed dollars per fleet since the previous cycle (committed $/h after the
	// previous cycle's plan × hours elapsed, across a restart too: the rate and time are kept in
	// the state dir), for vastwatch_fleet_cost_dollars_total. It is already in the plan's
	// month-to-date figures (FleetStatus.MonthSpend, Result.AccountMonthSpend).
	Cost map[string]float64
	// SpendErr is set while the spend book is unusable (month-to-date unknown; creates under a
	// monthly budget blocked).
	SpendErr error
	// JournalErr is set while the journal is unusable (creates blocked).
	JournalErr error
}

// Cycle runs one cycle with cfg (a reload just passes a new cfg): the read-only Look, with the
// journal reconciled against the observation before the state is read, then the plan executed.
// When the observation fails it returns the error and takes no action; every fleet gets a skip
// decision with api_error.
func (s *Scaler) Cycle(ctx context.Context, cfg *policy.Config) (CycleReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Clock.Now()
	var cost map[string]float64
	look := Look{Reader: s.o.API, Prober: s.o.Prober, Demand: s.o.Demand, State: func(obs Observation) State {
		cost = s.reconcile(obs, cfg, now)
		return s.state()
	}}
	rep, err := look.Run(ctx, now, cfg, s.carry)
	rep.DryRun = s.o.DryRun || cfg.DryRun
	if err != nil && ctx.Err() != nil {
		s.log.Info("cycle abandoned before acting", "why", context.Cause(ctx))
		return rep, err
	}
	if err != nil {
		for _, f := range cfg.Fleets {
			rep.Plan.Decisions = append(rep.Plan.Decisions, Decision{Fleet: f.Name, Decision: DecisionSkip, Reason: ReasonAPIError, Detail: "observation failed"})
		}
		s.decide(rep.Plan.Decisions)
		s.log.Warn("observation failed; no action this cycle", "err", err)
		return rep, err
	}
	s.carry = rep.Carry
	LogObservation(s.log, &rep.Observation)
	rep.Cost, rep.SpendErr, rep.JournalErr = cost, s.bookErr, s.journalErr
	s.decide(rep.Plan.Decisions)
	s.execute(ctx, now, &rep)
	s.attachKeys(ctx, cfg, &rep)
	return rep, nil
}

// reconcile brings the state up to date with a complete observation before it is planned
// from: the journal reconciled against the instance list (and the start grace armed at the
// first reconcile of a term), the stopped and outbid times tracked, and the spend book advanced
// to now. It returns the committed dollars per fleet since the previous cycle. Callers hold mu.
func (s *Scaler) reconcile(obs Observation, cfg *policy.Config, now time.Time) map[string]float64 {
	if s.journal == nil {
		// Retry: the directory may have become readable; a corrupt file stays an error.
		s.openJournal()
	}
	if s.journal != nil {
		if err := s.journal.Reconcile(obs.Instances, cfg.Owner, now, s.o.PendingGrace); err != nil {
			s.log.Error("journal reconcile not saved", "err", err)
		}
		if !s.reconciled {
			s.reconciled = true
			s.notBefore = now.Add(s.o.StartGrace)
		}
	}
	s.track(obs)
	if s.journal != nil {
		if err := s.journal.SetOutbidSince(s.outbidSince); err != nil {
			s.log.Error("outbid times not journalled; a restart restarts their grace", "err", err)
		}
	}
	if s.bookErr != nil {
		s.openBook() // retry: the file may have been repaired or moved away
	}
	cost, _ := s.book.Advance(now)
	return cost
}

// execute carries out the plan, remembers what it changed, books the committed spend and
// notes the machines avoided at the end of the cycle. Callers hold mu.
func (s *Scaler) execute(ctx context.Context, now time.Time, rep *CycleReport) {
	res := rep.Plan
	ex := &Executor{API: s.o.API, Journal: s.journal, Clock: s.o.Clock, DryRun: rep.DryRun,
		AvoidFor: s.o.AvoidFor, AvoidMax: s.o.AvoidMax, Hook: s.outcome, Notifier: s.o.Notifier}
	rep.Outcomes = ex.Execute(ctx, res.Actions)
	for _, o := range rep.Outcomes {
		s.remember(o, now)
	}
	// The book runs on from what is committed once the actions are done; in dry-run none was
	// sent, so what was committed before them.
	committed := make(map[string]float64, len(res.Fleets))
	account := res.CommittedAfter
	for _, f := range res.Fleets {
		committed[f.Name] = f.SpendAfter
		if rep.DryRun {
			committed[f.Name] = f.SpendBefore
		}
	}
	if rep.DryRun {
		account = res.CommittedBefore
	}
	if err := s.book.Commit(now, committed, account); err != nil {
		s.log.Error("spend book not saved", "err", err)
	}
	if s.journal != nil {
		rep.Avoided = activeAvoided(now, s.journal.Avoided(), s.journal.Failures())
	}
}

// state assembles the planner's view. Callers hold mu.
func (s *Scaler) state() State {
	st := State{
		StoppedSince:     maps.Clone(s.stoppedSince),
		OutbidSince:      maps.Clone(s.outbidSince),
		OutbidGrace:      s.o.OutbidGrace,
		ListingMargin:    s.o.ListingMargin,
		LastScaleUp:      maps.Clone(s.lastUp),
		LastScaleDown:    maps.Clone(s.lastDown),
		CreatesNotBefore: s.notBefore,
		PendingGrace:     s.o.PendingGrace,
		MonthToDate:      s.book.Month(),
	}
	if s.o.Bill != nil {
		s.book.SetBill(s.o.Bill())
	}
	st.Bill = s.book.Bill()
	if s.bookErr != nil {
		st.MonthUnknown = s.bookErr.Error()
	}
	if s.journal == nil {
		st.CreatesBlocked = "journal unusable"
		if s.journalErr != nil {
			st.CreatesBlocked = s.journalErr.Error()
		}
		return st
	}
	st.Creates = s.journal.Creates()
	st.StoppedByUs = s.journal.StoppedByUs()
	st.StartedByUs = s.journal.StartedByUs()
	st.Avoided = s.journal.Avoided()
	st.Failures = s.journal.Failures()
	st.Draining = s.journal.Draining()
	return st
}

// track keeps the memory that follows the instance list: when instances were first seen
// stopped, and first seen in the outbid pattern (journalled by Cycle, so the outbid grace runs
// from the first sighting across restarts).
func (s *Scaler) track(obs Observation) {
	seen := make(map[int64]bool, len(obs.Instances))
	for i := range obs.Instances {
		in := &obs.Instances[i]
		seen[in.ID] = true
		if in.IsBid && stoppedPattern(in) {
			if _, ok := s.outbidSince[in.ID]; !ok {
				s.outbidSince[in.ID] = obs.At
			}
		} else {
			delete(s.outbidSince, in.ID)
		}
		if st := in.Status(); st == "stopped" || st == "frozen" {
			if _, ok := s.stoppedSince[in.ID]; !ok {
				s.stoppedSince[in.ID] = obs.At
			}
		} else {
			delete(s.stoppedSince, in.ID)
		}
	}
	for id := range s.stoppedSince {
		if !seen[id] {
			delete(s.stoppedSince, id)
		}
	}
	for id := range s.outbidSince {
		if !seen[id] {
			delete(s.outbidSince, id)
		}
	}
}

// remember updates cooldowns and restart times from an outcome. An unknown create counts as a
// scale-up: it may well have happened.
func (s *Scaler) remember(o ActionOutcome, now time.Time) {
	a := o.Action
	done := o.Result == ResultOK || o.Unknown || o.InstanceID != 0
	if !done {
		return
	}
	switch a.Kind {
	case KindCreate:
		s.lastUp[a.Fleet] = now
	case KindStart:
		s.lastUp[a.Fleet] = now
	case KindStop:
		s.lastDown[a.Fleet] = now
	case KindDrain:
		// The drain that starts a scale-down (not a later webhook retry: its notice is older).
		if a.Reason == ReasonAboveTarget && a.Notice != nil && a.Notice.Since.Equal(now) {
			s.lastDown[a.Fleet] = now
		}
	case KindDestroy:
		if a.Reason == ReasonAboveTarget {
			s.lastDown[a.Fleet] = now
		}
	}
}

// decide counts every decision of a cycle and logs them: at Info when a fleet's decisions
// differ from the ones logged last for it, at Debug when they repeat, so that a fleet holding
// at target does not log the same line every poll. Callers hold mu.
func (s *Scaler) decide(decisions []Decision) {
	byFleet := map[string]string{}
	for _, d := range decisions {
		byFleet[d.Fleet] += d.String() + "\n"
	}
	for _, d := range decisions {
		if s.o.OnDecision != nil {
			s.o.OnDecision(d)
		}
		level := slog.LevelInfo
		if byFleet[d.Fleet] == s.logged[d.Fleet] {
			level = slog.LevelDebug
		}
		s.log.Log(context.Background(), level, "decision", "fleet", d.Fleet, "decision", d.Decision, "reason", d.Reason, "detail", d.Detail)
	}
	s.logged = byFleet
}

func (s *Scaler) outcome(o ActionOutcome) {
	if s.o.OnAction != nil {
		s.o.OnAction(o)
	}
	attrs := []any{"fleet", o.Action.Fleet, "action", string(o.Action.Kind), "result", o.Result,
		"reason", o.Action.Reason, "what", o.Action.String()}
	if o.Why != "" {
		attrs = append(attrs, "why", o.Why)
	}
	switch {
	case o.Result == ResultError:
		s.log.Warn("action failed", append(attrs, "err", o.Err)...)
	default:
		s.log.Info("action", attrs...)
	}
}

// Rearm makes the scaler behave as if freshly started: its memory is dropped, the journal is
// read again (another replica may have written it), and creates are held until the journal has
// been reconciled against the instance list and one start grace has passed (docs/design.md §7). Call
// it on gaining leadership.
func (s *Scaler) Rearm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reconciled = false
	s.notBefore = time.Time{}
	clear(s.stoppedSince)
	clear(s.outbidSince)
	clear(s.lastUp)
	clear(s.lastDown)
	s.carry = Carry{}
	s.openJournal()
	if s.journalErr != nil {
		s.log.Error("journal unusable; creates blocked", "err", s.journalErr)
	}
	s.loadOutbid()
	s.openBook()
}

var _ API = (*vastapi.Client)(nil)
