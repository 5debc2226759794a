// Package metrics is the daemon's Prometheus registry: per-service request,
// instance, scaling and deployment metrics, and the daemon's own Go and
// process metrics, served at /metrics.
package metrics
