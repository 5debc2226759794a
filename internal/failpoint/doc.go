// Package failpoint kills the process at named points in the engine and the
// store when $SLIPWAY_FAILPOINT names them, so tests can prove that a kill -9
// at exactly that point leaves state that a restarted daemon recovers.
package failpoint
