package netns

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// tableName is the nftables table Slipway owns in an instance's namespace.
const tableName = "slipway"

// Firewall installs, in the namespace h, a rule refusing TCP connections to
// denyPorts on any address outside the namespace (the host's loopback through
// the gateway included): that is how an instance is kept from the daemon's
// API listener. Connections inside the namespace (over lo) are not touched.
// Apps run without CAP_NET_ADMIN, so they cannot remove the rule.
func Firewall(h *Handle, denyPorts []uint16) error {
	if len(denyPorts) == 0 {
		return nil
	}
	c, err := nftables.New(nftables.WithNetNSFd(h.Fd()))
	if err != nil {
		return fmt.Errorf("firewall: %w", err)
	}
	defer c.CloseLasting()
	t := c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: tableName})
	policy := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{
		Name:     "output",
		Table:    t,
		Type:     nftables.ChainTypeFilter,
		Hooknum:  nftables.ChainHookOutput,
		Priority: nftables.ChainPriorityFilter,
		Policy:   &policy,
	})
	for _, p := range denyPorts {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: denyPortExprs(p)})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("firewall: %w", err)
	}
	return nil
}

// denyPortExprs is `oifname != "lo" meta l4proto tcp tcp dport PORT reject
// with tcp reset`: the app sees "connection refused" at once.
func denyPortExprs(port uint16) []expr.Any {
	lo := make([]byte, unix.IFNAMSIZ)
	copy(lo, "lo")
	dport := binary.BigEndian.AppendUint16(nil, port)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: lo},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: dport},
		&expr.Reject{Type: unix.NFT_REJECT_TCP_RST},
	}
}
