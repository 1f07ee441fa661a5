package nodeplumber

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// Defaults of the node's router.
const (
	DefaultNetns     = "evpnrouter"
	DefaultVXLANPort = 4789
	DefaultMTU       = 1500
	// VXLANOverhead is what VXLAN over IPv4 adds to a frame (outer IP, UDP, VXLAN
	// and inner Ethernet headers).
	VXLANOverhead = 50
	// TableOffset keeps VRF routing tables clear of the reserved ones (253-255).
	TableOffset = 1000
)

// Reasons why a node cannot run an object that only the node itself can see (the
// placement reasons are the controller's too).
const (
	ReasonNICMissing    = "NICMissing"
	ReasonSecretMissing = "SecretMissing"
	ReasonNICInUse      = "NICInUse"
	ReasonApplyFailed   = "ApplyFailed"
	ReasonReloadFailed  = "ReloadFailed"
	ReasonNotReloaded   = "RouterNotAnswering"
	ReasonApplied       = "Applied"
)

// NodeFacts is what the plumber knows of its node besides the API objects.
type NodeFacts struct {
	// UnderlayMTU is the smallest MTU of the underlay NICs; 0 means 1500.
	UnderlayMTU int
	// NICError says why the underlay NICs could not be read (one is missing).
	NICError error
	// NICInUse says that a NIC still on the host carries the host's default
	// route or one of the node's addresses: it is not moved.
	NICInUse error
	// Passwords maps a Secret name to the "password" value it holds; a Secret
	// that is missing or has no such key is absent.
	Passwords map[string]string
	// HostRoutes are the host's routes that the plumber did not make (default
	// routes left out): no localCIDR may take their traffic.
	HostRoutes []HostRoute
	// SecretErrors says why a Secret could not be read, when it was not simply
	// missing (e.g. the controller has not granted it to plumbers yet).
	SecretErrors map[string]error
}

// State is everything one node runs.
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
	UID        types.UID
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
	UID        types.UID
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

// Decision is what one node should run now, and why any object that selects it
// cannot run.
type Decision struct {
	State State
	// UnderlayProblem says why the node cannot run its Underlay; nil when it can.
	UnderlayProblem *placement.Problem
	// L3VNIProblems says, by L3VNI name, why the node cannot run it.
	L3VNIProblems map[string]*placement.Problem
}

// Desired computes what a node runs from its placement (which accepted versions
// apply, decided by the rules the controller shares) and its own facts. An object
// that cannot run here is left out of the state with its problem; Keep then
// decides whether what the node already runs of it stays.
func Desired(plan placement.NodePlan, facts NodeFacts) Decision {
	d := Decision{State: State{Netns: DefaultNetns}, L3VNIProblems: map[string]*placement.Problem{}}
	for _, l := range plan.L3VNIs {
		if l.Problem != nil {
			d.L3VNIProblems[l.L3VNI.Name] = l.Problem
		}
	}
	if plan.Underlay == nil {
		return d
	}
	u := plan.Underlay
	d.UnderlayProblem = plan.UnderlayProblem
	switch {
	case d.UnderlayProblem != nil:
	case facts.NICError != nil:
		d.UnderlayProblem = &placement.Problem{Reason: ReasonNICMissing, Message: fmt.Sprintf("Underlay %s: %v", u.Name, facts.NICError)}
	case facts.NICInUse != nil:
		d.UnderlayProblem = &placement.Problem{Reason: ReasonNICInUse, Message: fmt.Sprintf("Underlay %s: %v", u.Name, facts.NICInUse)}
	}
	var underlay UnderlayState
	var fu frrtemplates.Underlay
	if d.UnderlayProblem == nil {
		var p *placement.Problem
		underlay, fu, p = desiredUnderlay(u, plan.Node.Index, facts)
		d.UnderlayProblem = p
	}
	if d.UnderlayProblem != nil {
		// Its L3VNIs wait for it (a placement problem already says so).
		for _, l := range plan.L3VNIs {
			if l.Problem == nil {
				d.L3VNIProblems[l.L3VNI.Name] = &placement.Problem{Reason: placement.ReasonUnderlayFailed,
					Message: fmt.Sprintf("node %s cannot run Underlay %s: %s", plan.Node.Name, u.Name, d.UnderlayProblem.Message)}
			}
		}
		return d
	}
	d.State.Underlay, d.State.FRR.Underlay = underlay, fu

	mtu := facts.UnderlayMTU
	if mtu == 0 {
		mtu = DefaultMTU
	}
	for _, on := range plan.L3VNIs {
		if on.Problem != nil {
			continue
		}
		ls, vrf, err := desiredL3VNI(on.L3VNI, plan.Node.Index, mtu, underlay)
		if err != nil {
			// Unreachable after placement's checks; reported anyway.
			d.L3VNIProblems[on.L3VNI.Name] = &placement.Problem{Reason: placement.ReasonAddressOutOfRange, Message: err.Error()}
			continue
		}
		if p := localCIDRInUse(ls, facts.HostRoutes); p != nil {
			d.L3VNIProblems[on.L3VNI.Name] = p
			continue
		}
		d.State.L3VNIs = append(d.State.L3VNIs, ls)
		d.State.FRR.VRFs = append(d.State.FRR.VRFs, vrf)
	}
	d.State.sort()
	return d
}

// sort orders L3VNIs by VNI and VRFs by name, so that equal states render alike.
func (s *State) sort() {
	sort.Slice(s.L3VNIs, func(i, j int) bool { return s.L3VNIs[i].VNI < s.L3VNIs[j].VNI })
	sort.Slice(s.FRR.VRFs, func(i, j int) bool { return s.FRR.VRFs[i].Name < s.FRR.VRFs[j].Name })
}

func desiredUnderlay(u *placement.Underlay, index int, facts NodeFacts) (UnderlayState, frrtemplates.Underlay, *placement.Problem) {
	bad := func(reason, format string, args ...any) (UnderlayState, frrtemplates.Underlay, *placement.Problem) {
		return UnderlayState{}, frrtemplates.Underlay{}, &placement.Problem{Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	spec := u.Spec
	vtepCIDR, err := netip.ParsePrefix(spec.VTEPCIDR)
	if err != nil {
		return bad(placement.ReasonAddressOutOfRange, "Underlay %s: vtepCIDR: %v", u.Name, err)
	}
	vtep, err := addressing.VTEP(vtepCIDR, index)
	if err != nil {
		return bad(placement.ReasonAddressOutOfRange, "Underlay %s: VTEP (index %d): %v", u.Name, index, err)
	}
	ridPrefix, err := netip.ParsePrefix(placement.RouterIDCIDR(&spec))
	if err != nil {
		return bad(placement.ReasonAddressOutOfRange, "Underlay %s: routerIDCIDR: %v", u.Name, err)
	}
	rid, err := addressing.RouterID(ridPrefix, index)
	if err != nil {
		return bad(placement.ReasonAddressOutOfRange, "Underlay %s: router ID (index %d): %v", u.Name, index, err)
	}
	port := int(spec.VXLANPort)
	if port == 0 {
		port = DefaultVXLANPort
	}
	st := UnderlayState{Name: u.Name, UID: u.UID, Generation: u.Generation, VTEP: vtep, RouterID: rid, ASN: uint32(spec.ASN), VXLANPort: port}
	for _, nic := range spec.NICs {
		st.NICs = append(st.NICs, string(nic))
	}
	sort.Strings(st.NICs)

	fu := frrtemplates.Underlay{ASN: uint32(spec.ASN), RouterID: rid.String(), VTEP: vtep.String()}
	for _, n := range spec.Neighbors {
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
			pw, ok := facts.Passwords[n.PasswordSecret.Name]
			if err := facts.SecretErrors[n.PasswordSecret.Name]; !ok && err != nil {
				return bad(ReasonSecretMissing, "Underlay %s: neighbor %s: password Secret %q cannot be read: %v", u.Name, n.Address, n.PasswordSecret.Name, err)
			}
			if !ok {
				return bad(ReasonSecretMissing, "Underlay %s: neighbor %s: password Secret %q not found or has no \"password\" key", u.Name, n.Address, n.PasswordSecret.Name)
			}
			fn.Password = pw
		}
		fu.Neighbors = append(fu.Neighbors, fn)
	}
	return st, fu, nil
}

func desiredL3VNI(l *placement.L3VNI, index, underlayMTU int, u UnderlayState) (L3VNIState, frrtemplates.VRF, error) {
	vni := l.Spec.VNI
	ls := L3VNIState{
		Name: l.Name, UID: l.UID, Generation: l.Generation, VNI: vni, VRF: l.EffectiveVRF(),
		Table:  TableOffset + uint32(vni),
		Bridge: addressing.BridgeName(vni), VXLAN: addressing.VXLANName(vni),
		RouterLeg: addressing.RouterLegName(vni), HostLeg: addressing.HostLegName(vni),
		MTU:       underlayMTU - VXLANOverhead,
		RouterASN: uint32(l.RouterASN), HostASN: uint32(l.Spec.HostSession.HostASN),
	}
	if ls.RouterASN == 0 {
		ls.RouterASN = u.ASN
	}
	if len(ls.VRF) > 15 {
		return ls, frrtemplates.VRF{}, fmt.Errorf("L3VNI %s: VRF name %q is longer than 15 characters", l.Name, ls.VRF)
	}
	if l.Spec.MTU != nil {
		ls.MTU = int(*l.Spec.MTU)
	}
	vrf := frrtemplates.VRF{Name: ls.VRF, VNI: uint32(vni), ASN: ls.RouterASN, RouterID: u.RouterID.String(), RD: l.Spec.RouteDistinguisher}
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
		hostLeg, err := addressing.HostLeg(p, index)
		if err != nil {
			return ls, vrf, fmt.Errorf("L3VNI %s: host leg (index %d): %w", l.Name, index, err)
		}
		ls.RouterLegAddrs = append(ls.RouterLegAddrs, netip.PrefixFrom(routerLeg, p.Bits()))
		ls.HostLegAddrs = append(ls.HostLegAddrs, netip.PrefixFrom(hostLeg, p.Bits()))
		vrf.HostNeighbors = append(vrf.HostNeighbors, frrtemplates.HostNeighbor{Address: hostLeg.String(), ASN: ls.HostASN})
	}
	return ls, vrf, nil
}

func seconds(d time.Duration) uint32 { return uint32(d / time.Second) }
