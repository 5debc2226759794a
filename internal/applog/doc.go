// Package applog is Slipway's log line format: one text line per output line,
// "<time> <source> <stream> <text>", with a writer that produces it and readers
// that merge, tail and follow files of it.
package applog
