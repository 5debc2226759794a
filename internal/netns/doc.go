// Package netns gives each instance a network namespace of its own and lets
// the daemon reach into it: it sets a namespace up (loopback, a firewall,
// outbound access through slirp4netns) and dials ports on its loopback.
package netns
