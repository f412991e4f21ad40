// Package vastsim owns the simulated Vast.ai market: a seeded, deterministic, in-memory market
// served over the same REST API as console.vast.ai (docs/vast-api.md §7), on an injected clock,
// with a Go and an HTTP (/_sim/) control surface for tests and demos.
//
// It models the unpleasant parts on purpose: overlapping offers that disappear when rented, the
// 404 no_such_ask race, instances that boot on the clock and can fail, per-second billing that
// stops everything at zero credit, bids that get outbid, auth errors, and injected faults
// (429 without Retry-After, 5xx, resets, slow replies, replies lost after the action applied).
//
// It imports only vastapi (for the wire types and the shared matcher), never touches the
// network itself, never logs the API key, and never reads the real clock: every timestamp comes
// from Options.Clock.
//
// Time model: timestamps follow the clock exactly. The simulator's own delays (provisioning,
// boot, price drift, the zero-credit grace) are divided by Options.Speed and billing is
// multiplied by it. State advances lazily: every request and every control call first brings
// the market up to the clock's now, processing boots, drift steps and the zero-credit stop in
// time order, so the result does not depend on how often it is polled.
//
// For backtests (docs/backtest.md) it can replay a market instead of generating one (a Feed:
// offers appear, reprice and vanish as recorded; no drift), fail boots and hosts at seeded
// rates (hazards.go), run a named scenario on the generated market (scenario.go), answer reads
// as Go calls without JSON (Direct, field for field the HTTP replies) and report each
// instance's bill (Billing). None of them draws from the market's or the instances' streams,
// so a seed's generated market is the same with or without them.
//
// Choices where the real API is silent or unknown (docs/vast-api.md §8), so tests can rely on them:
//   - Search: no `limit` returns every match; `rented` never filters; unknown columns are
//     ignored; repriced per query (allocated_storage, type bid → min_bid, reserved → discount).
//     Offers overlapping a contract read rentable=false (rented=true when the contract is ours).
//     A reply past 64 kB is encoded while it is written (chunked over HTTP, a pipe through
//     Transport), never whole in memory, and still shows the market as it was when asked.
//   - Lifecycle: null for ProvisionDelay, loading for BootDelay, then running. GPU time is billed
//     only while running; storage from creation to destroy in every state.
//   - Ports: before running, the `ports` key is absent (as in the real reply of a loading
//     instance; the CLI's ssh-url cannot read a null). While running, `ports` maps 22/tcp to
//     direct_port_start and each create env key
//     "-p HOST:CONTAINER[/tcp|/udp]" (sorted as strings, each container port once) to the next
//     port of the range; HOST is validated, not honoured. Ports past the instance's range
//     (min(direct_port_count, 100)) stay unmapped. A key starting with "-p" that is not
//     "-p N:M[/proto]" (1 ≤ N,M ≤ 65535) fails the create with 400 invalid_args, nothing rented.
//     SetHostPort overrides one mapping and Options.PublicIPAddr every public_ipaddr, so tests
//     can dial public_ipaddr:HostPort on loopback.
//   - A stop (by the user or at zero credit) releases the GPUs: the offers return to the market,
//     and a later start waits in `scheduling` while another contract holds them. An outbid
//     instance keeps its GPUs out of the market (the winning bidder has them).
//   - Zero credit: everything stops at the exact crossing; after Grace, if credit is still not
//     positive, every instance is destroyed. Create then fails with 402 insufficient_credit and
//     a start with 200 success:false missing_billing.
//   - Outbid instances do not resume by themselves when min_bid falls again: a rebid at or above
//     min_bid (bid_price) or a start restores them.
//   - A bid below min_bid: 200 {"success":false,"error":"bid_too_low","new_contract":id} and a
//     stopped (outbid) instance that bills storage.
//   - v1 list: instances_found is the page's count, total_instances the match count; a token is
//     bound to its query's filters and order; stored columns only in select_filters.
//   - Auth: a wrong key is 401 everywhere (search included); no key is 403 except search and
//     gpu names; a scoped key (Options.Keys) lacking the endpoint's scope is 403.
//   - Instances() shows live instances only, as the API does; Destroyed() lists the others.
//   - A CLI session beyond renting (docs/vast-api.md §7.12; account.go and a file per endpoint
//     group): invoices, logs, ssh keys, made API keys, env vars, templates, update_template,
//     deposit. Every other path under /api/v0/ and /api/v1/ is 501 not_simulated, so a client
//     tells "not modelled" from a wrong id's 404. Nothing there draws from the market's or the
//     instances' seeded streams. A made key's value is in its create reply only; env values and
//     registry passwords are in no reply; none of them reaches the request log or the logger.
//     account.go's limits bound what requests can make the simulator keep.
package vastsim
