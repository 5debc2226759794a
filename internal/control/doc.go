// Package control implements the App Runner operations: it checks requests
// against the stored state, records services and operations through the
// store, and wakes the engine, which carries the operations out.
package control
