package nodeplumber

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// ReasonLocalCIDRInUse: an L3VNI's localCIDR overlaps a network the node already
// routes (its pod CIDR, a LAN it is on): the host leg's connected route would
// take that traffic.
const ReasonLocalCIDRInUse = "LocalCIDRInUse"

// HostRoute is a route of the host's main table that the plumber did not make.
type HostRoute struct {
	Dst netip.Prefix
	// Via says where it leads, as `ip route` would ("dev eth0", "blackhole").
	Via string
	// Connected is true for a route without a gateway: the node's own subnets,
	// blackholes (a pod CIDR), device routes.
	Connected bool
}

func (r HostRoute) String() string { return r.Dst.String() + " " + r.Via }

// localCIDRInUse decides whether the host leg of an L3VNI would capture traffic
// of a network the node already has: a route inside its localCIDR (or equal to
// it), or a connected network that overlaps it. A gateway route wider than the
// localCIDR (a default route, a corporate 10.0.0.0/8) is not: carving a more
// specific prefix out of it is what routing is for.
func localCIDRInUse(ls L3VNIState, routes []HostRoute) *placement.Problem {
	for _, a := range ls.HostLegAddrs {
		local := a.Masked()
		for _, r := range routes {
			if !r.Dst.Overlaps(local) || r.Dst.Bits() < local.Bits() && !r.Connected {
				continue
			}
			return &placement.Problem{Reason: ReasonLocalCIDRInUse, Message: fmt.Sprintf(
				"L3VNI %s: localCIDR %s overlaps the node's route %s: its host leg would take that traffic; choose a localCIDR outside the node's networks (pods, nodes, LANs)",
				ls.Name, local, r)}
		}
	}
	return nil
}

// hostRoutes keeps, of the host's main table, the routes a localCIDR must not
// take: not the default routes, nor those through the devices the plumber made
// (its host legs, and what FRR-K8s learns through them) or through the underlay
// NICs (they move into the router netns).
func hostRoutes(h *netlink.Handle, main []netlink.Route, nics []string) ([]HostRoute, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("listing the host's links: %w", err)
	}
	skip, names := map[int]bool{}, map[int]string{}
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
		if a.Alias == OwnedAlias || contains(nics, a.Name) {
			skip[a.Index] = true
		}
	}
	var out []HostRoute
	for _, r := range main {
		if isDefault(r) || skip[r.LinkIndex] || len(r.MultiPath) > 0 && viaSkipped(r, skip) {
			continue
		}
		dst, ok := netip.AddrFromSlice(r.Dst.IP)
		if !ok {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		via := "dev " + names[r.LinkIndex]
		switch {
		case r.Type == unix.RTN_BLACKHOLE || r.Type == unix.RTN_UNREACHABLE || r.Type == unix.RTN_PROHIBIT:
			via = "blackhole"
		case r.Gw != nil:
			via = "via " + r.Gw.String() + " " + via
		case len(r.MultiPath) > 0:
			via = "multipath"
		}
		out = append(out, HostRoute{Dst: netip.PrefixFrom(dst.Unmap(), ones), Via: via, Connected: r.Gw == nil && len(r.MultiPath) == 0})
	}
	return out, nil
}

// viaSkipped reports whether every next hop of a multipath route leaves through a
// skipped device.
func viaSkipped(r netlink.Route, skip map[int]bool) bool {
	for _, nh := range r.MultiPath {
		if !skip[nh.LinkIndex] {
			return false
		}
	}
	return true
}
