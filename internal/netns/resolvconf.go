package netns

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
)

// ResolvConf returns the resolv.conf an instance needs when the host's
// (content) names a nameserver on the host's loopback, such as
// systemd-resolved's 127.0.0.53: inside a namespace that address is the
// instance's own loopback, where nothing answers. The copy sends queries to
// DNS, slirp4netns's forwarder to the host's resolvers, and keeps the other
// lines (search, options). ok is false when the host's file works as it is.
func ResolvConf(content []byte) (out []byte, ok bool) {
	var b bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(content))
	replaced := false
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			addr, err := netip.ParseAddr(f[1])
			if err == nil && addr.IsLoopback() {
				if !replaced {
					b.WriteString("nameserver " + DNS + "\n")
					replaced = true
				}
				continue
			}
		}
		b.WriteString(line + "\n")
	}
	if !replaced {
		return nil, false
	}
	return b.Bytes(), true
}
