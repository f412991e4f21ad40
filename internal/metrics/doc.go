// Package metrics owns vastwatch's Prometheus contract (docs/metrics.md): the immutable Snapshot a
// poll publishes, the market statistics computed from it (nearest-rank percentiles, per-GPU
// weighting with the overlap rule), the collectors that turn a snapshot into const metrics, the
// exposition rendered (and gzipped) once per poll, and the /metrics handler that serves it next
// to the small process self-metrics (API requests, scaler actions and decisions, poll and reload
// status, leader, build info).
//
// It must never call the Vast.ai API, not even on a scrape: a scrape serves the last published
// snapshot from memory. It must never keep series that left the snapshot (no GaugeVec filled
// from snapshots), and never put the API key or any secret in a metric.
package metrics
