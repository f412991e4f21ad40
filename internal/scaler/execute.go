package scaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vastwatch/vastwatch/internal/clock"
	"github.com/vastwatch/vastwatch/internal/vastapi"
)

// Mutator is the write side of the API the executor needs, plus the search that re-checks an
// offer just before renting; *vastapi.Client satisfies it.
type Mutator interface {
	CreateInstance(ctx context.Context, offerID int64, req vastapi.CreateRequest) (vastapi.CreateResult, error)
	DestroyInstance(ctx context.Context, id int64) error
	SetInstanceState(ctx context.Context, id int64, state string) error
	ChangeBid(ctx context.Context, id int64, price float64) error
	SearchOffers(ctx context.Context, q vastapi.Query) ([]vastapi.Offer, error)
}

// Action results: the `result` label of vastwatch_scaler_actions_total is ok, error or dry_run;
// skipped actions (an offer gone at the re-check, a create held back after a failed destroy)
// were never sent and are reported but not counted as errors.
const (
	ResultOK      = "ok"
	ResultError   = "error"
	ResultDryRun  = "dry_run"
	ResultSkipped = "skipped"
)

// ActionOutcome is what became of one action.
type ActionOutcome struct {
	Action Action
	Result string
	// Why explains a skip or an error in one line (no secrets).
	Why string
	Err error
	// InstanceID is the instance a create made (also from a failed reply's new_contract).
	InstanceID int64
	// Unknown is a create whose outcome is unknown: journalled, counted as pending.
	Unknown bool
	At      time.Time
}

// Executor carries out a plan's actions. Dry-run is enforced here: with DryRun set it sends no
// request at all, mutating or not, and reports every action as dry_run.
type Executor struct {
	API     Mutator
	Journal *Journal // required for creates; nil refuses them
	Clock   clock.Clock
	DryRun  bool
	// AvoidFor is how long a machine whose instance failed is avoided after its first failure
	// (0: not avoided); each further failure within FailureMemory doubles it, up to AvoidMax.
	AvoidFor time.Duration
	// AvoidMax caps the growing avoidance (0: FailureMemory).
	AvoidMax time.Duration
	// Hook, when set, is called with every outcome as it happens.
	Hook func(ActionOutcome)
	// Notifier delivers drain webhooks (nil: HTTPNotifier with its defaults).
	Notifier Notifier
}

// Execute runs the actions in order. After a destroy or stop fails, the remaining creates,
// starts and rebids are skipped: the plan counted on the capacity and money they would free,
// and when checks disagree the safest action wins. A cancelled ctx stops it between actions.
func (e *Executor) Execute(ctx context.Context, actions []Action) []ActionOutcome {
	outs := make([]ActionOutcome, 0, len(actions))
	freeFailed := false
	for _, a := range actions {
		var o ActionOutcome
		switch {
		case e.DryRun:
			o = ActionOutcome{Action: a, Result: ResultDryRun, Why: "dry-run: not sent"}
		case ctx.Err() != nil:
			o = ActionOutcome{Action: a, Result: ResultSkipped, Why: "cycle cancelled", Err: ctx.Err()}
		case freeFailed && (a.Kind == KindCreate || a.Kind == KindStart || a.Kind == KindRebid):
			o = ActionOutcome{Action: a, Result: ResultSkipped, Why: "an earlier destroy or stop failed"}
		default:
			o = e.one(ctx, a)
			if o.Result == ResultError && (a.Kind == KindDestroy || a.Kind == KindStop) {
				freeFailed = true
			}
		}
		o.At = e.now()
		outs = append(outs, o)
		if e.Hook != nil {
			e.Hook(o)
		}
	}
	return outs
}

func (e *Executor) now() time.Time {
	if e.Clock == nil {
		return time.Time{}
	}
	return e.Clock.Now()
}

func (e *Executor) one(ctx context.Context, a Action) ActionOutcome {
	out := ActionOutcome{Action: a, Result: ResultOK}
	fail := func(why string, err error) ActionOutcome {
		out.Result, out.Why, out.Err = ResultError, why, err
		return out
	}
	switch a.Kind {
	case KindDestroy:
		err := e.API.DestroyInstance(ctx, a.InstanceID)
		if err != nil && !vastapi.IsGone(err) {
			return fail("destroy failed", fmt.Errorf("destroy instance %d: %w", a.InstanceID, err))
		}
		if e.Journal != nil {
			// Best effort: stale entries are dropped at the next reconcile anyway.
			_ = e.Journal.SetStopped(a.InstanceID, time.Time{})
			_ = e.Journal.EndDrain(a.InstanceID)
			if (a.Reason == ReasonFailed || a.Reason == ReasonOutbid || a.Reason == ReasonFailureBurst) && e.AvoidFor > 0 && a.MachineID != 0 {
				out.Why = e.fail(a)
			}
		}
		return out
	case KindStop:
		// Written ahead: an outbid instance looks exactly like one we stopped.
		if e.Journal == nil {
			return fail("no journal", errors.New("stop needs the journal"))
		}
		if err := e.Journal.SetStopped(a.InstanceID, e.now()); err != nil {
			return fail("journal write failed", err)
		}
		if err := e.API.SetInstanceState(ctx, a.InstanceID, "stopped"); err != nil {
			_ = e.Journal.SetStopped(a.InstanceID, time.Time{})
			return fail("stop failed", fmt.Errorf("stop instance %d: %w", a.InstanceID, err))
		}
		_ = e.Journal.EndDrain(a.InstanceID) // best effort: a stopped instance is no longer draining
		return out
	case KindDrain:
		return e.drain(ctx, a)
	case KindStart:
		if err := e.API.SetInstanceState(ctx, a.InstanceID, "running"); err != nil {
			return fail("start failed", fmt.Errorf("start instance %d: %w", a.InstanceID, err))
		}
		if e.Journal != nil {
			_ = e.Journal.SetStopped(a.InstanceID, time.Time{})
			if err := e.Journal.SetStarted(a.InstanceID, e.now()); err != nil {
				out.Why = "start not journalled: " + err.Error()
			}
		}
		return out
	case KindCreate:
		return e.create(ctx, a)
	case KindRebid:
		if a.Bid <= 0 {
			return fail("refused", errors.New("rebid without a price"))
		}
		// Written ahead: the committed spend includes the new bid before the API can apply it.
		if e.Journal != nil {
			if _, err := e.Journal.SetBid(a.InstanceID, a.Bid, a.Price); err != nil {
				return fail("journal write failed, rebid not sent", err)
			}
		}
		if err := e.API.ChangeBid(ctx, a.InstanceID, a.Bid); err != nil {
			return fail("rebid failed", fmt.Errorf("rebid instance %d: %w", a.InstanceID, err))
		}
		return out
	}
	return fail("unknown action", fmt.Errorf("unknown action kind %q", a.Kind))
}

// fail records the failure of a's instance on its machine and says what became of the machine:
// avoided, or not, being part of a failure burst (docs/design.md §8).
func (e *Executor) fail(a Action) string {
	f, err := e.Journal.Fail(a.MachineID, a.Fleet, e.now(), e.AvoidFor, e.AvoidMax, a.Reason == ReasonFailureBurst)
	switch {
	case err != nil:
		return "machine not avoided: " + err.Error()
	case f.Burst > 0 || a.Reason == ReasonFailureBurst:
		return fmt.Sprintf("machine %d not avoided: the fleet's failures on %d or more machines within %s form a burst, likely a platform or image problem",
			a.MachineID, max(f.Burst, BurstMachines), burstWindowText)
	}
	return fmt.Sprintf("machine %d avoided until %s (failure %d)", a.MachineID, f.Until.UTC().Format(time.RFC3339), f.Count)
}

// drain journals the drain of an instance (written ahead: from now on it is out of /sd and of
// its fleet's count, also after a restart) and calls the fleet's webhook, if any, once. A
// webhook that does not answer 2xx is an error of this action; the planner calls it again next
// cycle until the drain timeout.
func (e *Executor) drain(ctx context.Context, a Action) ActionOutcome {
	out := ActionOutcome{Action: a, Result: ResultOK}
	if e.Journal == nil || a.Drain == nil || a.Notice == nil {
		out.Result, out.Why, out.Err = ResultError, "refused", errors.New("drain needs the journal, the fleet's drain settings and a notice")
		return out
	}
	rec := DrainRecord{Fleet: a.Fleet, Since: a.Notice.Since, Then: a.Then, Reason: a.Reason}
	if err := e.Journal.StartDrain(a.InstanceID, rec); err != nil {
		out.Result, out.Why, out.Err = ResultError, "journal write failed, drain not started", err
		return out
	}
	hook := a.Drain.Webhook.Reveal()
	if hook == "" {
		return out
	}
	body, err := json.Marshal(a.Notice)
	if err != nil {
		out.Result, out.Why, out.Err = ResultError, "drain notice not encoded", err
		return out
	}
	n := e.Notifier
	if n == nil {
		n = HTTPNotifier{}
	}
	err = n.Notify(ctx, hook, body)
	if jerr := e.Journal.DrainCalled(a.InstanceID, e.now(), err); jerr != nil && err == nil {
		// The 2xx is not on disk: the webhook is called again next cycle, which it must bear.
		out.Why = "webhook answered 2xx, not journalled: " + jerr.Error()
	}
	if err != nil {
		out.Result, out.Why, out.Err = ResultError, "webhook not acknowledged; called again next cycle until the drain timeout", err
	}
	return out
}

// create re-checks the offer, writes the intent, sends the create and journals its outcome.
func (e *Executor) create(ctx context.Context, a Action) ActionOutcome {
	out := ActionOutcome{Action: a, Result: ResultOK}
	if a.Label == "" || a.Nonce == "" {
		out.Result, out.Why, out.Err = ResultError, "refused", errors.New("create without ownership label")
		return out
	}
	if a.Bid <= 0 && a.Request.Price != nil || a.Bid > 0 && a.Request.Price == nil {
		out.Result, out.Why, out.Err = ResultError, "refused", errors.New("create price does not match the planned bid")
		return out
	}
	if a.Query.Type == vastapi.Bid && a.Request.Price == nil {
		// Without a price the API rents on-demand: a bid market never does that silently.
		out.Result, out.Why, out.Err = ResultError, "refused", errors.New("bid market create without an explicit price")
		return out
	}
	if e.Journal == nil {
		out.Result, out.Why, out.Err = ResultError, "no journal", errors.New("creates need a readable journal")
		return out
	}
	if why, err := e.recheck(ctx, a); why != "" {
		out.Result, out.Why, out.Err = ResultSkipped, why, err
		if err != nil {
			out.Result = ResultError
		}
		return out
	}
	rec := CreateRecord{Nonce: a.Nonce, Fleet: a.Fleet, OfferID: a.Offer.ID, MachineID: a.MachineID,
		HostID: a.Offer.HostID, Country: Country(a.Offer.Geolocation.Or("")),
		Price: a.Price, Bid: a.Bid, IntentAt: e.now(), Replaces: a.Replaces}
	if err := e.Journal.Intent(rec); err != nil {
		out.Result, out.Why, out.Err = ResultError, "journal write failed, create not sent", err
		return out
	}
	res, err := e.API.CreateInstance(ctx, a.Offer.ID, a.Request)
	if err == nil {
		out.InstanceID = res.InstanceID
		if jerr := e.Journal.Resolve(a.Nonce, OutcomeCreated, res.InstanceID); jerr != nil {
			out.Why = "created; journal update failed (the label still marks it ours): " + jerr.Error()
		}
		return out
	}
	out.Result, out.Err = ResultError, fmt.Errorf("create on offer %d: %w", a.Offer.ID, err)
	if id, ok := vastapi.CreatedInstanceID(err); ok {
		// The create "failed" but an instance exists: it is ours and gets handled as such.
		out.InstanceID = id
		out.Why = fmt.Sprintf("failed reply still created instance %d", id)
		_ = e.Journal.Resolve(a.Nonce, OutcomeCreated, id)
		_ = e.Journal.MarkFailedReply(a.Nonce)
		return out
	}
	var ae *vastapi.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && !vastapi.IsOutcomeUnknown(err) {
		// The API refused it: certainly not applied.
		out.Why = "refused by the API"
		_ = e.Journal.Forget(a.Nonce)
		return out
	}
	out.Unknown = true
	out.Why = "outcome unknown: pending until listed or the grace period ends"
	_ = e.Journal.Resolve(a.Nonce, OutcomeUnknown, 0)
	return out
}

// recheck looks the offer up again just before renting, with the market's query narrowed to
// its id (one search): it must still be listed, match the query and cost no more than planned.
// It returns a non-empty why when the create must not go ahead; err is set when the search
// itself failed.
func (e *Executor) recheck(ctx context.Context, a Action) (string, error) {
	offers, err := e.API.SearchOffers(ctx, a.Query)
	if err != nil {
		return "offer re-check failed", fmt.Errorf("re-check offer %d: %w", a.Offer.ID, err)
	}
	now := e.now()
	for i := range offers {
		o := &offers[i]
		if o.ID != a.Offer.ID {
			continue
		}
		if !a.Query.Match(o, now) {
			return "offer no longer acceptable", nil
		}
		storage := o.StoragePerHour(a.Request.DiskGB)
		if a.Bid > 0 {
			if o.MinBid > a.Bid+eps || a.Bid+storage > a.Price+eps {
				return fmt.Sprintf("offer min_bid now $%.4f/h, above the bid $%.4f/h", o.MinBid, a.Bid), nil
			}
			return "", nil
		}
		if p := o.PriceFor(a.Request.DiskGB); p > a.Price+eps {
			return fmt.Sprintf("offer now $%.4f/h, planned $%.4f/h", p, a.Price), nil
		}
		return "", nil
	}
	return "offer no longer listed", nil
}

// Refuser is a Mutator that refuses every mutating call; `vastwatch plan` executes through it
// so that nothing it does can ever mutate.
type Refuser struct{ Reader Reader }

// ErrRefused is what a Refuser answers to every mutation.
var ErrRefused = errors.New("mutation refused: read-only mode")

var _ Mutator = Refuser{}

// CreateInstance refuses.
func (Refuser) CreateInstance(context.Context, int64, vastapi.CreateRequest) (vastapi.CreateResult, error) {
	return vastapi.CreateResult{}, ErrRefused
}

// DestroyInstance refuses.
func (Refuser) DestroyInstance(context.Context, int64) error { return ErrRefused }

// SetInstanceState refuses.
func (Refuser) SetInstanceState(context.Context, int64, string) error { return ErrRefused }

// ChangeBid refuses.
func (Refuser) ChangeBid(context.Context, int64, float64) error { return ErrRefused }

// SearchOffers reads through Reader, when set.
func (r Refuser) SearchOffers(ctx context.Context, q vastapi.Query) ([]vastapi.Offer, error) {
	if r.Reader == nil {
		return nil, ErrRefused
	}
	return r.Reader.SearchOffers(ctx, q)
}
