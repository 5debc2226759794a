// Package health decides whether an instance is healthy the way App Runner
// does: TCP or HTTP probes, and thresholds of consecutive results.
package health
