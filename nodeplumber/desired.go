package nodeplumber

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
)

// Defaults of the node's router.
const (
	DefaultNetns        = "evpnrouter"
	DefaultRouterIDCIDR = "10.0.0.0/24"
	DefaultVXLANPort    = 4789
	DefaultMTU          = 1500
	// VXLANOverhead is what VXLAN over IPv4 adds to a frame (outer IP, UDP, VXLAN
	// and inner Ethernet headers).
	VXLANOverhead = 50
	// TableOffset keeps VRF routing tables clear of the reserved ones (253-255).
	TableOffset = 1000
)

// NodeFacts is what the plumber knows of its node besides the API objects.
type NodeFacts struct {
	Name  string
	Index int
	// UnderlayMTU is the smallest MTU of the underlay NICs; 0 means 1500.
	UnderlayMTU int
	// Passwords maps a Secret name to the "password" value it holds.
	Passwords map[string]string
}

// State is everything one node needs.
type State struct {
	Netns    string
	Underlay UnderlayState
	L3VNIs   []L3VNIState
	// FRR is the router's configuration, ready for frrtemplates.Render.
	FRR frrtemplates.Config
}

// UnderlayState is the fabric side of the node's router.
type UnderlayState struct {
	Name       string
	Generation int64
	NICs       []string
	VTEP       netip.Addr
	RouterID   netip.Addr
	ASN        uint32
	VXLANPort  int
}

// L3VNIState is one L3VNI's devices and addresses on the node.
type L3VNIState struct {
	Name       string
	Generation int64
	VNI        int32
	VRF        string
	Table      uint32
	Bridge     string
	VXLAN      string
	RouterLeg  string // veth end in the VRF
	HostLeg    string // veth end in the host netns
	// RouterLegAddrs and HostLegAddrs carry the prefix length of localCIDR.
	RouterLegAddrs []netip.Prefix
	HostLegAddrs   []netip.Prefix
	MTU            int
	RouterASN      uint32
	HostASN        uint32
}

// Desired computes a node's state from the Underlay that selects it and the L3VNIs
// to apply there (accepted and selecting the node). Errors name the object at fault;
// a CIDR too small for the node's index is an error, never a wrap-around.
func Desired(u *evpnv1.Underlay, l3vnis []evpnv1.L3VNI, node NodeFacts) (State, error) {
	st := State{Netns: DefaultNetns}
	if u == nil {
		if len(l3vnis) > 0 {
			return st, fmt.Errorf("node %s: %d L3VNIs select it but no Underlay does", node.Name, len(l3vnis))
		}
		return st, nil
	}
	if node.Index < 0 {
		return st, fmt.Errorf("node %s has no index yet", node.Name)
	}
	vtepCIDR, err := netip.ParsePrefix(u.Spec.VTEPCIDR)
	if err != nil {
		return st, fmt.Errorf("Underlay %s: vtepCIDR: %w", u.Name, err)
	}
	vtep, err := addressing.VTEP(vtepCIDR, node.Index)
	if err != nil {
		return st, fmt.Errorf("Underlay %s: VTEP of node %s (index %d): %w", u.Name, node.Name, node.Index, err)
	}
	ridCIDR := u.Spec.RouterIDCIDR
	if ridCIDR == "" {
		ridCIDR = DefaultRouterIDCIDR
	}
	ridPrefix, err := netip.ParsePrefix(ridCIDR)
	if err != nil {
		return st, fmt.Errorf("Underlay %s: routerIDCIDR: %w", u.Name, err)
	}
	rid, err := addressing.RouterID(ridPrefix, node.Index)
	if err != nil {
		return st, fmt.Errorf("Underlay %s: router ID of node %s (index %d): %w", u.Name, node.Name, node.Index, err)
	}
	port := int(u.Spec.VXLANPort)
	if port == 0 {
		port = DefaultVXLANPort
	}
	st.Underlay = UnderlayState{Name: u.Name, Generation: u.Generation, VTEP: vtep, RouterID: rid, ASN: uint32(u.Spec.ASN), VXLANPort: port}
	for _, nic := range u.Spec.NICs {
		st.Underlay.NICs = append(st.Underlay.NICs, string(nic))
	}
	sort.Strings(st.Underlay.NICs)

	st.FRR.Underlay = frrtemplates.Underlay{ASN: uint32(u.Spec.ASN), RouterID: rid.String(), VTEP: vtep.String()}
	for _, n := range u.Spec.Neighbors {
		fn := frrtemplates.Neighbor{Address: n.Address, ASN: uint32(n.ASN), BFD: n.BFD, EBGPMultiHop: n.EBGPMultiHop}
		if n.Port != nil {
			fn.Port = uint16(*n.Port)
		}
		if n.HoldTime != nil {
			fn.HoldSeconds = seconds(n.HoldTime.Duration)
			fn.KeepaliveSeconds = fn.HoldSeconds / 3
		}
		if n.KeepaliveTime != nil {
			fn.KeepaliveSeconds = seconds(n.KeepaliveTime.Duration)
			if fn.HoldSeconds == 0 {
				fn.HoldSeconds = 3 * fn.KeepaliveSeconds
			}
		}
		if n.PasswordSecret != nil {
			pw, ok := node.Passwords[n.PasswordSecret.Name]
			if !ok {
				return st, fmt.Errorf("Underlay %s: neighbor %s: password Secret %q not found or has no \"password\" key", u.Name, n.Address, n.PasswordSecret.Name)
			}
			fn.Password = pw
		}
		st.FRR.Underlay.Neighbors = append(st.FRR.Underlay.Neighbors, fn)
	}

	mtu := node.UnderlayMTU
	if mtu == 0 {
		mtu = DefaultMTU
	}
	for i := range l3vnis {
		ls, vrf, err := desiredL3VNI(&l3vnis[i], u, node, mtu, rid)
		if err != nil {
			return st, err
		}
		st.L3VNIs = append(st.L3VNIs, ls)
		st.FRR.VRFs = append(st.FRR.VRFs, vrf)
	}
	sort.Slice(st.L3VNIs, func(i, j int) bool { return st.L3VNIs[i].VNI < st.L3VNIs[j].VNI })
	return st, nil
}

func desiredL3VNI(l *evpnv1.L3VNI, u *evpnv1.Underlay, node NodeFacts, underlayMTU int, rid netip.Addr) (L3VNIState, frrtemplates.VRF, error) {
	vni := l.Spec.VNI
	ls := L3VNIState{
		Name: l.Name, Generation: l.Generation, VNI: vni, VRF: l.EffectiveVRF(),
		Table:  TableOffset + uint32(vni),
		Bridge: addressing.BridgeName(vni), VXLAN: addressing.VXLANName(vni),
		RouterLeg: addressing.RouterLegName(vni), HostLeg: addressing.HostLegName(vni),
		MTU:       underlayMTU - VXLANOverhead,
		RouterASN: uint32(u.Spec.ASN), HostASN: uint32(l.Spec.HostSession.HostASN),
	}
	if len(ls.VRF) > 15 {
		return ls, frrtemplates.VRF{}, fmt.Errorf("L3VNI %s: VRF name %q is longer than 15 characters", l.Name, ls.VRF)
	}
	if l.Spec.MTU != nil {
		ls.MTU = int(*l.Spec.MTU)
	}
	if l.Spec.HostSession.ASN != nil {
		ls.RouterASN = uint32(*l.Spec.HostSession.ASN)
	}
	vrf := frrtemplates.VRF{Name: ls.VRF, VNI: uint32(vni), ASN: ls.RouterASN, RouterID: rid.String(), RD: l.Spec.RouteDistinguisher}
	for _, rt := range l.Spec.ImportRouteTargets {
		vrf.ImportRTs = append(vrf.ImportRTs, string(rt))
	}
	for _, rt := range l.Spec.ExportRouteTargets {
		vrf.ExportRTs = append(vrf.ExportRTs, string(rt))
	}
	for _, cidr := range []string{l.Spec.HostSession.LocalCIDR.IPv4, l.Spec.HostSession.LocalCIDR.IPv6} {
		if cidr == "" {
			continue
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return ls, vrf, fmt.Errorf("L3VNI %s: localCIDR %q: %w", l.Name, cidr, err)
		}
		routerLeg, err := addressing.RouterLeg(p)
		if err != nil {
			return ls, vrf, fmt.Errorf("L3VNI %s: router leg: %w", l.Name, err)
		}
		hostLeg, err := addressing.HostLeg(p, node.Index)
		if err != nil {
			return ls, vrf, fmt.Errorf("L3VNI %s: host leg of node %s (index %d): %w", l.Name, node.Name, node.Index, err)
		}
		ls.RouterLegAddrs = append(ls.RouterLegAddrs, netip.PrefixFrom(routerLeg, p.Bits()))
		ls.HostLegAddrs = append(ls.HostLegAddrs, netip.PrefixFrom(hostLeg, p.Bits()))
		vrf.HostNeighbors = append(vrf.HostNeighbors, frrtemplates.HostNeighbor{Address: hostLeg.String(), ASN: ls.HostASN})
	}
	return ls, vrf, nil
}

func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }
