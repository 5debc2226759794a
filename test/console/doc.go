// Package console tests Slipway's web console end to end: the real binary,
// real git repositories and Debian's chromium driven headless.
package console
