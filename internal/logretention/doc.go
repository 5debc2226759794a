// Package logretention removes Slipway's log files once their newest entry
// is older than the retention period, as CloudWatch Logs expires events.
package logretention
