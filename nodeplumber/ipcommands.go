package nodeplumber

import (
	"fmt"
)

// IPCommands describes a State as the iproute2 commands that would build it from
// scratch, in the order DESIGN.md requires (devices down until FRR knows the VNI).
// `kubectl evpn render` prints them for review; the plumber's benchmark uses them as the
// floor of kernel work.
//
// hostNetns names the namespace of the host legs; "" means PID 1's, the node's.
func IPCommands(s State, hostNetns string) []string {
	if s.Underlay.Name == "" {
		return nil
	}
	ns := s.Netns
	in := func(format string, args ...any) string {
		return fmt.Sprintf("ip -n %s ", ns) + fmt.Sprintf(format, args...)
	}
	host := func(format string, args ...any) string { return "ip " + fmt.Sprintf(format, args...) }
	peerNS := "1"
	if hostNetns != "" {
		peerNS = hostNetns
		host = func(format string, args ...any) string {
			return fmt.Sprintf("ip -n %s ", hostNetns) + fmt.Sprintf(format, args...)
		}
	}
	var out []string
	out = append(out, "ip netns add "+ns) // named namespaces are the node's, not a namespace's
	for _, nic := range s.Underlay.NICs {
		out = append(out, host("link set %s netns %s", nic, ns), in("link set %s up", nic))
	}
	out = append(out, in("link set lo up"), in("address add %s/32 dev lo", s.Underlay.VTEP))
	for _, l := range s.L3VNIs {
		out = append(out,
			in("link add %s type vrf table %d", l.VRF, l.Table),
			in("link add %s mtu %d type bridge", l.Bridge, l.MTU),
			in("link set %s master %s", l.Bridge, l.VRF),
			in("link add %s mtu %d type vxlan id %d local %s dstport %d nolearning", l.VXLAN, l.MTU, l.VNI, s.Underlay.VTEP, s.Underlay.VXLANPort),
			in("link set %s master %s", l.VXLAN, l.Bridge),
			in("link add %s mtu %d type veth peer name %s netns %s", l.RouterLeg, l.MTU, l.HostLeg, peerNS),
			in("link set %s master %s", l.RouterLeg, l.VRF),
		)
		for _, a := range l.RouterLegAddrs {
			out = append(out, in("address add %s dev %s", a, l.RouterLeg))
		}
		for _, a := range l.HostLegAddrs {
			out = append(out, host("address add %s dev %s", a, l.HostLeg))
		}
		out = append(out, host("link set %s up", l.HostLeg))
	}
	if len(s.L3VNIs) > 0 {
		out = append(out, "# reload FRR with the new VNIs, then bring the devices up")
	}
	for _, l := range s.L3VNIs {
		for _, dev := range []string{l.VRF, l.Bridge, l.VXLAN, l.RouterLeg} {
			out = append(out, in("link set %s up", dev))
		}
	}
	return out
}
