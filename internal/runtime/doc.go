// Package runtime is the contract between Slipway's deployment engine and the
// backends that build sources and run instances (host processes, Docker).
package runtime
