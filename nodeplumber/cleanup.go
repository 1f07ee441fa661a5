package nodeplumber

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/vishvananda/netns"
)

// CleanupReport says what Cleanup undid on this node.
type CleanupReport struct {
	// NICsMovedBack are the underlay NICs returned to the host namespace.
	NICsMovedBack []string
	// DevicesRemoved are the devices of ours that are gone, in the router netns
	// and on the host (a veth's host leg is listed even when it went with its peer).
	DevicesRemoved []string
	// NetnsDeleted is true when this run deleted the router netns.
	NetnsDeleted bool
}

// Cleanup undoes on this node what the plumber built, for an uninstall: the
// plumber itself never tears anything down, so that its restarts are hitless. The
// NICs it moved go back to the host with their addresses (the kernel keeps their
// MTU across the move) and come up, the devices it owns go from both namespaces,
// and the router netns is deleted last, so that a failed run leaves the netns in
// place and the next run finds what is left. A node without the netns has nothing
// of ours left: a second run makes no write.
func (k *Kernel) Cleanup(netnsName string) (CleanupReport, error) {
	var r CleanupReport
	// views would create a missing netns: look first, so that a node already
	// cleaned (or never plumbed) stays untouched.
	ns, err := netns.GetFromName(netnsName)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("cleanup: opening netns %s: %w", netnsName, err)
	}
	ns.Close()

	host, router, done, err := k.views(netnsName)
	if err != nil {
		return r, fmt.Errorf("cleanup: %w", err)
	}
	defer done()

	var moved []string
	for name, l := range router.links {
		if l.Attrs().Alias == MovedNICAlias {
			moved = append(moved, name)
		}
	}
	err = k.moveNICsBack(host, router, nil)
	// moveNICsBack forgets each NIC once it is on the host: what it still knows
	// did not move, even when it failed halfway.
	for _, name := range moved {
		if _, ok := router.links[name]; !ok {
			r.NICsMovedBack = append(r.NICsMovedBack, name)
		}
	}
	sort.Strings(r.NICsMovedBack)
	if err != nil {
		return r, fmt.Errorf("cleanup: moving NICs back to the host: %w", err)
	}

	// To an empty State every device of ours is stale. The NICs went first: one
	// still inside when the netns goes would reach the kernel's initial namespace
	// without its addresses.
	owned := ownedLinks(router, host)
	err = k.removeStale(host, router, State{Netns: netnsName})
	for _, o := range owned {
		v := host
		if o.router {
			v = router
		}
		if _, ok := v.links[o.name]; !ok {
			r.DevicesRemoved = append(r.DevicesRemoved, o.name)
		}
	}
	sort.Strings(r.DevicesRemoved)
	if err != nil {
		return r, fmt.Errorf("cleanup: removing devices of ours: %w", err)
	}

	// Devices that are not ours cannot outlive the netns (a virtual one dies with
	// it, a physical one returns to the initial namespace without its addresses):
	// the operator is told which.
	var foreign []string
	for name, l := range router.links {
		if name != "lo" && l.Attrs().Alias != OwnedAlias && l.Attrs().Alias != MovedNICAlias {
			foreign = append(foreign, name)
		}
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		k.Log.Info("devices not the plumber's go with the router netns", "netns", netnsName, "devices", foreign)
	}

	if err := k.write("deleting netns "+netnsName, func() error { return netns.DeleteNamed(netnsName) }); err != nil {
		return r, fmt.Errorf("cleanup: %w", err)
	}
	k.Close() // the namespace dies with its last process
	r.NetnsDeleted = true
	return r, nil
}

type ownedLink struct {
	name   string
	router bool // in the router netns, else on the host
}

func ownedLinks(router, host *nsView) []ownedLink {
	var out []ownedLink
	for _, side := range []struct {
		v      *nsView
		router bool
	}{{router, true}, {host, false}} {
		for name, l := range side.v.links {
			if l.Attrs().Alias == OwnedAlias {
				out = append(out, ownedLink{name, side.router})
			}
		}
	}
	return out
}
