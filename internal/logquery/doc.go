// Package logquery answers CloudWatch Logs' read operations over Slipway's
// logs: App Runner's log groups and streams, derived from the store's
// services and operations and from the log files, with time ranges, filter
// patterns and page tokens.
package logquery
