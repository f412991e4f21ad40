// Package backtest owns replaying policies against a recorded or simulated market
// (docs/backtest.md): for each config, the real scaler (the same Look, planner and executor
// that `vastwatch run` uses) against its own simulator, fed from a recording or running a
// scenario, on one fake clock at full speed; demand from a series or a named shape; what each
// fleet cost (the simulator's own billing), how much it ran, how often it was at target and
// why not; a lower bound on what the same running time could have cost; and the report as a
// table, JSON (a stable schema) or one self-contained HTML page.
//
// It must never touch the network or the real API, never read the wall clock in a replay (only
// the progress line does, to say how fast it goes), and give the same report, byte for byte,
// for the same recording or scenario and seed.
package backtest
