// Package addressing derives per-node addresses and interface names from a node's
// index, as DESIGN.md "Allocation and naming" specifies. The controller uses it to
// check that a CIDR is large enough for every selected node; the plumber uses it to
// compute the addresses it configures. Both must agree, so there is one
// implementation, and it never wraps around: an index beyond a CIDR is an error.
package addressing

import (
	"fmt"
	"math/big"
	"net/netip"
	"strconv"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// ParseNodeIndex reads a Node's index annotation, which the controller writes and
// the plumber reads; ok is false when it is missing or not a canonical
// non-negative integer.
func ParseNodeIndex(annotations map[string]string) (int, bool) {
	v, found := annotations[evpnv1.NodeIndexAnnotation]
	if !found {
		return 0, false
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || strconv.Itoa(i) != v {
		return 0, false
	}
	return i, true
}

// Host returns host number n of prefix p (the network address is host 0). For IPv4
// prefixes shorter than /31 the broadcast address is not a host.
func Host(p netip.Prefix, n int) (netip.Addr, error) {
	if n < 1 {
		return netip.Addr{}, fmt.Errorf("host %d of %s: host numbers start at 1", n, p)
	}
	if max := MaxHost(p); big.NewInt(int64(n)).Cmp(max) > 0 {
		return netip.Addr{}, fmt.Errorf("%s has no host %d (its last usable host is %s)", p, n, max)
	}
	base := new(big.Int).SetBytes(p.Masked().Addr().AsSlice())
	sum := base.Add(base, big.NewInt(int64(n))).Bytes()
	buf := make([]byte, p.Addr().BitLen()/8)
	copy(buf[len(buf)-len(sum):], sum)
	addr, _ := netip.AddrFromSlice(buf)
	return addr, nil
}

// MaxHost is the highest host number Host accepts for p.
func MaxHost(p netip.Prefix) *big.Int {
	hostBits := p.Addr().BitLen() - p.Bits()
	size := new(big.Int).Lsh(big.NewInt(1), uint(hostBits))
	last := size.Sub(size, big.NewInt(1)) // the all-ones host
	if p.Addr().Is4() && hostBits >= 2 {
		last.Sub(last, big.NewInt(1)) // keep the broadcast address free
	}
	return last
}

// Fits reports whether host n exists in p.
func Fits(p netip.Prefix, n int) bool {
	return n >= 1 && big.NewInt(int64(n)).Cmp(MaxHost(p)) <= 0
}

// Host numbers, relative to the node index, of each per-node address.
const (
	// VTEPOffset: the VTEP is host index+1 of the Underlay's vtepCIDR.
	VTEPOffset = 1
	// RouterIDOffset: the router ID is host index+1 of the Underlay's routerIDCIDR.
	RouterIDOffset = 1
	// RouterLegHost: the router leg is host 1 of localCIDR on every node.
	RouterLegHost = 1
	// HostLegOffset: the host leg is host index+2 of localCIDR.
	HostLegOffset = 2
)

// VTEP is the VTEP address of the node with this index.
func VTEP(vtepCIDR netip.Prefix, index int) (netip.Addr, error) {
	return Host(vtepCIDR, index+VTEPOffset)
}

// RouterID is the BGP router ID of the node with this index.
func RouterID(routerIDCIDR netip.Prefix, index int) (netip.Addr, error) {
	return Host(routerIDCIDR, index+RouterIDOffset)
}

// RouterLeg is the router-side veth address, the same on every node.
func RouterLeg(localCIDR netip.Prefix) (netip.Addr, error) {
	return Host(localCIDR, RouterLegHost)
}

// HostLeg is the host-side veth address of the node with this index.
func HostLeg(localCIDR netip.Prefix, index int) (netip.Addr, error) {
	return Host(localCIDR, index+HostLegOffset)
}

// Interface names of one L3VNI (Linux limits names to 15 bytes; a VNI has at most
// 8 digits, so every name fits).
func BridgeName(vni int32) string    { return fmt.Sprintf("br%d", vni) }
func VXLANName(vni int32) string     { return fmt.Sprintf("vx%d", vni) }
func RouterLegName(vni int32) string { return fmt.Sprintf("pe%d", vni) }
func HostLegName(vni int32) string   { return fmt.Sprintf("hs%d", vni) }
