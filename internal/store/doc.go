// Package store keeps Slipway's state in an embedded SQLite database and is
// the single write path for it: every change goes through Store.Update.
package store
