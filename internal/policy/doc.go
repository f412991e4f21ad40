// Package policy owns vastwatch's configuration: the strict YAML file, its one validation pass
// (every problem with its path and line), the runtime policy model the scaler and metrics read,
// the official vast CLI's `search offers` query syntax (compiled into vastapi.Query, the one
// value that is both POSTed and matched locally), cron schedules with written-down DST rules,
// and the VAST_*/VASTWATCH_* environment.
//
// It never performs network I/O, never reads the clock (callers pass now), and never prints a
// secret: values from {file:}/{env:} and the API key stay redacted in every String and JSON form.
// It imports nothing internal but vastapi.
package policy
