// Package process is the runtime backend that builds sources in place with
// the host's toolchains and runs each instance as a host process under a
// small shim that outlives the daemon, records the exit and writes the logs.
package process
