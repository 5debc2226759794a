// Package dnsupdate changes records on an authoritative DNS server through
// RFC 2136 dynamic updates signed with TSIG (BIND, Knot, PowerDNS), as a
// libdns provider: ACME's DNS-01 challenges, which wildcard certificates
// need, are answered with it.
package dnsupdate
