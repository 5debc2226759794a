// Package certs gives the router its TLS certificates: from an ACME CA for
// custom domains (through certmagic, Caddy's library), and from a local CA
// Slipway creates for its own default domain.
package certs
