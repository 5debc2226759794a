// Package daemon is Slipway's composition root: it wires the store, the
// control plane, the engine, the runtime backend and the router, and owns
// their lifetimes.
package daemon
