package nodeplumber

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Marks in the alias (IFLA_IFALIAS) of the devices the plumber owns: it removes
// or moves back only what carries one, and never touches anything else.
const (
	// OwnedAlias marks a device the plumber created.
	OwnedAlias = "frr-k8s-evpn"
	// MovedNICAlias marks an underlay NIC the plumber moved into the router netns.
	MovedNICAlias = "frr-k8s-evpn:nic"
)

// Kernel carries out a State with netlink. Every change is a counted write, and
// nothing is written when the kernel already matches: a reconcile with nothing
// to change makes zero writes.
type Kernel struct {
	// HostNetns names the namespace of the host legs and of the NICs before their
	// move; empty means the caller's own (the node's). Tests name a throwaway one.
	HostNetns string
	Log       logr.Logger

	writes atomic.Int64
	// held is the router netns last opened, kept open for the plumber's life (see
	// routerNetns); nil when none is (a zero NsHandle would be file descriptor 0).
	mu   sync.Mutex
	held *netns.NsHandle
}

// Writes is the number of netlink writes made so far.
func (k *Kernel) Writes() int64 { return k.writes.Load() }

func (k *Kernel) write(what string, fn func() error) error {
	k.writes.Add(1)
	if err := fn(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	k.Log.V(1).Info("netlink write", "what", what)
	return nil
}

// nsHandles are one step's open namespaces and netlink handles.
type nsHandles struct {
	hostNS, routerNS netns.NsHandle
	host, router     *netlink.Handle
}

// Close releases what open opened.
func (n *nsHandles) Close() {
	if n.host != nil {
		n.host.Close()
	}
	if n.router != nil {
		n.router.Close()
	}
	for _, ns := range []netns.NsHandle{n.routerNS, n.hostNS} {
		if ns.IsOpen() {
			ns.Close()
		}
	}
}

// open opens the host and router namespaces and netlink handles on both,
// creating the named router namespace when missing.
func (k *Kernel) open(name string) (_ *nsHandles, err error) {
	// netns.None, not the zero value: a zero NsHandle is file descriptor 0.
	n := &nsHandles{hostNS: netns.None(), routerNS: netns.None()}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if n.hostNS, err = k.hostNetns(); err != nil {
		return nil, fmt.Errorf("opening the host namespace: %w", err)
	}
	if n.routerNS, err = k.routerNetns(name); err != nil {
		return nil, fmt.Errorf("opening netns %s: %w", name, err)
	}
	if n.host, err = netlink.NewHandleAt(n.hostNS, unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netlink on the host namespace: %w", err)
	}
	if n.router, err = netlink.NewHandleAt(n.routerNS, unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("netlink on netns %s: %w", name, err)
	}
	return n, nil
}

// hostNetns opens the host namespace.
func (k *Kernel) hostNetns() (netns.NsHandle, error) {
	if k.HostNetns == "" {
		return netns.Get()
	}
	return netns.GetFromName(k.HostNetns)
}

// views reads the host and router namespaces for one step. Every decision reads
// one dump of links per namespace (and one of addresses when an address matters):
// a reconcile with nothing to change costs a few netlink dumps, not a request per
// device.
func (k *Kernel) views(netnsName string) (host, router *nsView, done func(), err error) {
	n, err := k.open(netnsName)
	if err != nil {
		return nil, nil, nil, err
	}
	if host, err = snapshot(n.host, n.hostNS); err == nil {
		router, err = snapshot(n.router, n.routerNS)
	}
	if err != nil {
		n.Close()
		return nil, nil, nil, err
	}
	return host, router, n.Close, nil
}

// routerNetns opens the named router namespace, and keeps a handle on it. When
// the name is gone (`ip netns del` by hand) but the namespace it named lives on
// (this handle holds it, and FRR runs in it), the name is bound to that namespace
// again instead of a new, empty one being made beside it: the NICs, the devices
// and FRR inside carry on, and so does the traffic through them. Only when no
// namespace is held (the first pass, or a plumber started after the deletion) is
// a missing one created.
func (k *Kernel) routerNetns(name string) (netns.NsHandle, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ns, err := netns.GetFromName(name)
	switch {
	case errors.Is(err, os.ErrNotExist) && k.held != nil:
		k.Log.Info("the router netns was deleted while in use: binding its name to it again", "netns", name)
		if err := k.write("binding netns "+name+" again", func() error { return bindNetns(name, *k.held) }); err != nil {
			return netns.None(), err
		}
		ns, err = netns.GetFromName(name)
	case errors.Is(err, os.ErrNotExist):
		ns, err = k.createNetns(name)
	}
	if err != nil {
		return netns.None(), err
	}
	if k.held == nil || !k.held.Equal(ns) {
		// A namespace made anew under the name (by someone else) is the one used
		// from now on.
		k.release()
		fd, err := unix.Dup(int(ns))
		if err != nil {
			ns.Close()
			return netns.None(), fmt.Errorf("keeping a handle on netns %s: %w", name, err)
		}
		unix.CloseOnExec(fd)
		h := netns.NsHandle(fd)
		k.held = &h
	}
	return ns, nil
}

// release closes the held router namespace (the caller holds k.mu).
func (k *Kernel) release() {
	if k.held != nil {
		k.held.Close()
	}
	k.held = nil
}

// Close releases the router namespace the Kernel holds: a namespace whose name was
// deleted then dies with its last process.
func (k *Kernel) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.release()
}

// bindNetns gives the namespace ns the name under /run/netns, as `ip netns add`
// does for a new one.
func bindNetns(name string, ns netns.NsHandle) error {
	path := filepath.Join("/run/netns", name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	f.Close()
	if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", int(ns)), path, "", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		return fmt.Errorf("bind-mounting %s: %w", path, err)
	}
	return nil
}

// createNetns creates the named namespace (bind-mounted under /run/netns, like `ip
// netns add`, so it outlives the router pod). netns.NewNamed switches the calling
// thread into the new namespace: the thread is locked and switched back to where it
// was (not to the host namespace, which tests set to another one: a thread handed
// back to Go in the wrong namespace would run whatever comes next there).
func (k *Kernel) createNetns(name string) (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	back, err := netns.Get()
	if err != nil {
		return netns.None(), err
	}
	defer back.Close()
	var h netns.NsHandle
	err = k.write("creating netns "+name, func() (err error) {
		h, err = netns.NewNamed(name)
		return err
	})
	if serr := netns.Set(back); serr != nil {
		// The thread is in the wrong namespace: never hand it back to Go.
		runtime.LockOSThread()
		return h, fmt.Errorf("returning to the host namespace: %w", serr)
	}
	return h, err
}

// Apply adds and fixes what s wants, in two steps around FRR's reload (DESIGN.md,
// order of operations): Apply creates and fixes the devices, the VRF, bridge,
// and VXLAN of a new L3VNI staying down, because FRR must learn a VNI
// before its VXLAN device is up; then the caller reloads FRR and calls Finish,
// which brings them up and only then removes what the plumber owns and s no longer
// wants (FRR, already reloaded without it, never sees a device vanish under a VNI
// it still uses) and moves back to the host, with their addresses, the NICs s no
// longer lists.
func (k *Kernel) Apply(s State) error {
	host, router, done, err := k.views(s.Netns)
	if err != nil {
		return err
	}
	defer done()
	for _, nic := range s.Underlay.NICs {
		if err := k.moveNIC(host, router, nic, s.Netns); err != nil {
			return err
		}
	}
	if s.Underlay.Name != "" {
		if err := k.ensureLoopback(router, s.Underlay); err != nil {
			return err
		}
		if err := k.ensureForwarding(s.Netns); err != nil {
			return err
		}
	}
	failed := L3VNIFailures{}
	for _, l := range s.L3VNIs {
		if err := k.ensureL3VNI(host, router, s.Underlay, l); err != nil {
			failed[l.Name] = err
		}
	}
	return failed.orNil()
}

// Finish is Apply's second step, after FRR's reload: every L3VNI's devices up,
// then stale devices removed and unwanted NICs moved back.
func (k *Kernel) Finish(s State) error {
	host, router, done, err := k.views(s.Netns)
	if err != nil {
		return err
	}
	defer done()
	failed := L3VNIFailures{}
	for _, l := range s.L3VNIs {
		for _, name := range []string{l.VRF, l.Bridge, l.VXLAN} {
			if err := k.setUp(router, name); err != nil {
				failed[l.Name] = err
				break
			}
		}
	}
	if err := k.removeStale(host, router, s); err != nil {
		return err
	}
	if s.Underlay.Name == "" {
		if err := k.ensureLoopback(router, s.Underlay); err != nil { // drops our VTEP
			return err
		}
	}
	if err := k.moveNICsBack(host, router, s.Underlay.NICs); err != nil {
		return err
	}
	return failed.orNil()
}

// L3VNIFailures says, by L3VNI name, why the devices of some L3VNIs could not be
// made or brought up; Apply and Finish did everything else.
type L3VNIFailures map[string]error

func (f L3VNIFailures) Error() string {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	msgs := make([]string, len(names))
	for i, n := range names {
		msgs[i] = fmt.Sprintf("L3VNI %s: %v", n, f[n])
	}
	return strings.Join(msgs, "; ")
}

func (f L3VNIFailures) orNil() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

// moveNIC moves a host NIC into the router namespace with its addresses and MTU
// (the kernel drops addresses on a namespace move, so they are re-added).
func (k *Kernel) moveNIC(host, router *nsView, nic, netnsName string) error {
	if _, ok := router.links[nic]; ok {
		return k.setUp(router, nic)
	}
	link, ok := host.links[nic]
	if !ok {
		return fmt.Errorf("NIC %s is neither on the host nor in netns %s", nic, netnsName)
	}
	addrs, err := host.addrsOf(link.Attrs().Index)
	if err != nil {
		return err
	}
	if err := k.write(fmt.Sprintf("moving %s to netns %s", nic, netnsName), func() error {
		return host.h.LinkSetNsFd(link, int(router.ns))
	}); err != nil {
		return err
	}
	delete(host.links, nic)
	moved, err := router.refresh(nic)
	if err != nil {
		return fmt.Errorf("finding %s after its move: %w", nic, err)
	}
	if err := k.write("marking "+nic+" as moved", func() error { return router.h.LinkSetAlias(moved, MovedNICAlias) }); err != nil {
		return err
	}
	if err := k.addAddrs(router.h, moved, addrs); err != nil {
		return err
	}
	return k.setUp(router, nic)
}

// moveNICsBack returns to the host the NICs the plumber moved that are no longer
// wanted, with their addresses.
func (k *Kernel) moveNICsBack(host, router *nsView, keep []string) error {
	for name, l := range router.links {
		if l.Attrs().Alias != MovedNICAlias || contains(keep, name) {
			continue
		}
		addrs, err := router.addrsOf(l.Attrs().Index)
		if err != nil {
			return err
		}
		if err := k.write("moving "+name+" back to the host", func() error { return router.h.LinkSetNsFd(l, int(host.ns)) }); err != nil {
			return err
		}
		delete(router.links, name)
		back, err := host.refresh(name)
		if err != nil {
			return fmt.Errorf("finding %s after moving it back: %w", name, err)
		}
		if err := k.write("unmarking "+name, func() error { return host.h.LinkSetAlias(back, "") }); err != nil {
			return err
		}
		if err := k.addAddrs(host.h, back, addrs); err != nil {
			return err
		}
		if err := k.setUp(host, name); err != nil {
			return err
		}
	}
	return nil
}

// ensureLoopback brings lo up and holds exactly the VTEP /32 among the addresses
// the plumber puts there (other addresses on lo are left alone).
func (k *Kernel) ensureLoopback(router *nsView, u UnderlayState) error {
	if err := k.setUp(router, "lo"); err != nil {
		return err
	}
	lo, ok := router.links["lo"]
	if !ok {
		return fmt.Errorf("no lo in the router netns")
	}
	addrs, err := router.addrsOf(lo.Attrs().Index)
	if err != nil {
		return err
	}
	want := ""
	if u.VTEP.IsValid() {
		want = netip.PrefixFrom(u.VTEP, 32).String()
	}
	has := false
	for _, a := range addrs {
		p := a.IPNet.String()
		switch {
		case p == want:
			has = true
		case a.Label == "lo:evpn": // a VTEP of ours that changed
			a := a
			if err := k.write("removing old VTEP "+p, func() error { return router.h.AddrDel(lo, &a) }); err != nil {
				return err
			}
		}
	}
	if want == "" || has {
		return nil
	}
	addr, _ := netlink.ParseAddr(want)
	addr.Label = "lo:evpn"
	return k.write("adding VTEP "+want, func() error { return router.h.AddrAdd(lo, addr) })
}

// ensureForwarding turns on IPv4 and IPv6 forwarding inside the router namespace.
func (k *Kernel) ensureForwarding(netnsName string) error {
	ns, err := netns.GetFromName(netnsName)
	if err != nil {
		return err
	}
	defer ns.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	back, err := netns.Get()
	if err != nil {
		return err
	}
	defer back.Close()
	if err := netns.Set(ns); err != nil {
		return fmt.Errorf("entering netns %s: %w", netnsName, err)
	}
	defer func() {
		if err := netns.Set(back); err != nil {
			runtime.LockOSThread() // never reuse a thread left in the wrong namespace
		}
	}()
	for _, path := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
		cur, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(cur)) == "1" {
			continue
		}
		if err := k.write("setting "+path, func() error { return os.WriteFile(path, []byte("1\n"), 0o644) }); err != nil {
			return err
		}
	}
	return nil
}

// ensureL3VNI creates or fixes one L3VNI's devices and addresses. New devices are
// created down; existing ones keep their state.
func (k *Kernel) ensureL3VNI(host, router *nsView, u UnderlayState, l L3VNIState) error {
	vrf, err := k.ensureLink(router, &netlink.Vrf{LinkAttrs: attrs(l.VRF, 0), Table: l.Table}, func(cur netlink.Link) bool {
		v, ok := cur.(*netlink.Vrf)
		return ok && v.Table == l.Table
	})
	if err != nil {
		return err
	}
	br, err := k.ensureLink(router, &netlink.Bridge{LinkAttrs: attrs(l.Bridge, l.MTU)}, func(cur netlink.Link) bool {
		_, ok := cur.(*netlink.Bridge)
		return ok
	})
	if err != nil {
		return err
	}
	if err := k.ensureMaster(router, br, vrf); err != nil {
		return err
	}
	vtep := net.IP(u.VTEP.AsSlice())
	vx, err := k.ensureLink(router, &netlink.Vxlan{LinkAttrs: attrs(l.VXLAN, l.MTU), VxlanId: int(l.VNI), SrcAddr: vtep, Port: u.VXLANPort, Learning: false},
		func(cur netlink.Link) bool {
			v, ok := cur.(*netlink.Vxlan)
			return ok && v.VxlanId == int(l.VNI) && v.SrcAddr.Equal(vtep) && v.Port == u.VXLANPort && !v.Learning
		})
	if err != nil {
		return err
	}
	if err := k.ensureMaster(router, vx, br); err != nil {
		return err
	}
	pe, hs, err := k.ensureVeth(host, router, l)
	if err != nil {
		return err
	}
	if err := k.ensureMaster(router, pe, vrf); err != nil {
		return err
	}
	if err := k.ensureAddrs(router, pe, l.RouterLegAddrs); err != nil {
		return err
	}
	if err := k.ensureAddrs(host, hs, l.HostLegAddrs); err != nil {
		return err
	}
	for _, c := range []struct {
		v    *nsView
		link netlink.Link
	}{{router, br}, {router, vx}, {router, pe}, {host, hs}} {
		if err := k.ensureMTU(c.v.h, c.link, l.MTU); err != nil {
			return err
		}
	}
	// The veth comes up now, not after FRR's reload: FRR-K8s, configured at the
	// same time by the controller, must find its host leg already up. FRR 8.4's
	// bgpd can miss the host leg's connected route appearing while it applies its
	// configuration, and its session then waits for NHT forever (seen in the lab).
	if err := k.setUp(router, l.RouterLeg); err != nil {
		return err
	}
	return k.setUp(host, l.HostLeg)
}

func attrs(name string, mtu int) netlink.LinkAttrs {
	a := netlink.NewLinkAttrs()
	a.Name, a.MTU = name, mtu
	return a
}

// ensureLink returns the device named like want, creating it (down) when missing,
// or replacing it when it is ours but its immutable settings differ (matches says
// whether they are right). A foreign device in the way is an error, not replaced.
func (k *Kernel) ensureLink(v *nsView, want netlink.Link, matches func(netlink.Link) bool) (netlink.Link, error) {
	name := want.Attrs().Name
	if cur, ok := v.links[name]; ok {
		if matches(cur) {
			return cur, nil
		}
		if cur.Attrs().Alias != OwnedAlias {
			return nil, fmt.Errorf("%s exists and is not ours (alias %q): not touching it", name, cur.Attrs().Alias)
		}
		if err := k.write("replacing "+name, func() error { return v.h.LinkDel(cur) }); err != nil {
			return nil, err
		}
	}
	if err := k.write(fmt.Sprintf("creating %s %s", want.Type(), name), func() error { return v.h.LinkAdd(want) }); err != nil {
		return nil, err
	}
	created, err := v.refresh(name)
	if err != nil {
		return nil, err
	}
	if err := k.write("marking "+name, func() error { return v.h.LinkSetAlias(created, OwnedAlias) }); err != nil {
		return nil, err
	}
	return v.refresh(name)
}

// ensureVeth returns the router leg (in the router netns) and the host leg (in the
// host netns) of an L3VNI, creating the pair when either is missing.
func (k *Kernel) ensureVeth(host, router *nsView, l L3VNIState) (pe, hs netlink.Link, err error) {
	pe, peOK := router.links[l.RouterLeg]
	hs, hsOK := host.links[l.HostLeg]
	if peOK && hsOK {
		return pe, hs, nil
	}
	for _, c := range []struct {
		v    *nsView
		link netlink.Link
	}{{router, pe}, {host, hs}} {
		if c.link != nil && c.link.Attrs().Alias == OwnedAlias {
			if err := k.write("deleting half a veth "+c.link.Attrs().Name, func() error { return c.v.h.LinkDel(c.link) }); err != nil {
				return nil, nil, err
			}
		}
	}
	veth := &netlink.Veth{LinkAttrs: attrs(l.RouterLeg, l.MTU), PeerName: l.HostLeg, PeerNamespace: netlink.NsFd(host.ns)}
	if err := k.write("creating veth "+l.RouterLeg+"/"+l.HostLeg, func() error { return router.h.LinkAdd(veth) }); err != nil {
		return nil, nil, err
	}
	if pe, err = router.refresh(l.RouterLeg); err != nil {
		return nil, nil, err
	}
	if hs, err = host.refresh(l.HostLeg); err != nil {
		return nil, nil, err
	}
	if err := k.write("marking "+l.RouterLeg, func() error { return router.h.LinkSetAlias(pe, OwnedAlias) }); err != nil {
		return nil, nil, err
	}
	if err := k.write("marking "+l.HostLeg, func() error { return host.h.LinkSetAlias(hs, OwnedAlias) }); err != nil {
		return nil, nil, err
	}
	if pe, err = router.refresh(l.RouterLeg); err != nil {
		return nil, nil, err
	}
	if hs, err = host.refresh(l.HostLeg); err != nil {
		return nil, nil, err
	}
	return pe, hs, nil
}

func (k *Kernel) ensureMaster(v *nsView, link, master netlink.Link) error {
	if link.Attrs().MasterIndex == master.Attrs().Index {
		return nil
	}
	return k.write(fmt.Sprintf("enslaving %s to %s", link.Attrs().Name, master.Attrs().Name), func() error {
		return v.h.LinkSetMasterByIndex(link, master.Attrs().Index)
	})
}

func (k *Kernel) ensureMTU(h *netlink.Handle, link netlink.Link, mtu int) error {
	if mtu == 0 || link.Attrs().MTU == mtu {
		return nil
	}
	return k.write(fmt.Sprintf("setting MTU %d on %s", mtu, link.Attrs().Name), func() error { return h.LinkSetMTU(link, mtu) })
}

// ensureAddrs makes a device the plumber owns hold exactly these addresses
// (link-local IPv6 addresses, which the kernel manages, are left alone).
func (k *Kernel) ensureAddrs(v *nsView, link netlink.Link, want []netip.Prefix) error {
	h := v.h
	cur, err := v.addrsOf(link.Attrs().Index)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, a := range cur {
		p := a.IPNet.String()
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		if !containsPrefix(want, p) {
			a := a
			if err := k.write("removing "+p+" from "+link.Attrs().Name, func() error { return h.AddrDel(link, &a) }); err != nil {
				return err
			}
			continue
		}
		have[p] = true
	}
	for _, p := range want {
		if have[p.String()] {
			continue
		}
		addr, err := netlink.ParseAddr(p.String())
		if err != nil {
			return err
		}
		if err := k.write("adding "+p.String()+" to "+link.Attrs().Name, func() error { return h.AddrAdd(link, addr) }); err != nil {
			return err
		}
	}
	return nil
}

func (k *Kernel) addAddrs(h *netlink.Handle, link netlink.Link, addrs []netlink.Addr) error {
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() {
			continue
		}
		a := netlink.Addr{IPNet: a.IPNet, Label: "", Flags: a.Flags, Scope: a.Scope}
		if err := k.write(fmt.Sprintf("adding %s to %s", a.IPNet, link.Attrs().Name), func() error { return h.AddrAdd(link, &a) }); err != nil {
			return err
		}
	}
	return nil
}

func (k *Kernel) setUp(v *nsView, name string) error {
	link, ok := v.links[name]
	if !ok {
		var err error
		if link, err = v.refresh(name); err != nil {
			return err
		}
	}
	if link.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	return k.write("setting "+name+" up", func() error { return v.h.LinkSetUp(link) })
}

// removeStale deletes the devices the plumber owns that s does not want. Deleting
// one end of a veth deletes both.
func (k *Kernel) removeStale(host, router *nsView, s State) error {
	wantRouter, wantHost := map[string]bool{}, map[string]bool{}
	for _, l := range s.L3VNIs {
		for _, n := range []string{l.VRF, l.Bridge, l.VXLAN, l.RouterLeg} {
			wantRouter[n] = true
		}
		wantHost[l.HostLeg] = true
	}
	removed := false
	for _, side := range []struct {
		v    *nsView
		want map[string]bool
	}{{router, wantRouter}, {host, wantHost}} {
		for name, l := range side.v.links {
			if l.Attrs().Alias != OwnedAlias || side.want[name] {
				continue
			}
			if err := k.write("removing stale "+name, func() error { return side.v.h.LinkDel(l) }); err != nil && !isNotFound(err) {
				return err
			}
			delete(side.v.links, name)
			removed = true
		}
	}
	if !removed {
		return nil
	}
	// Deleting a veth end took its peer along: forget what is gone.
	for _, v := range []*nsView{router, host} {
		if err := v.reload(); err != nil {
			return err
		}
	}
	return nil
}

// nsView is one namespace's links and addresses, read in one dump each, and kept
// current for the links this reconcile creates.
type nsView struct {
	h     *netlink.Handle
	ns    netns.NsHandle
	links map[string]netlink.Link
	addrs map[int][]netlink.Addr // by link index; nil until addrsOf loads them
}

func snapshot(h *netlink.Handle, ns netns.NsHandle) (*nsView, error) {
	v := &nsView{h: h, ns: ns}
	return v, v.reload()
}

func (v *nsView) reload() error {
	links, err := listLinks(v.h)
	if err != nil {
		return err
	}
	v.links = make(map[string]netlink.Link, len(links))
	for _, l := range links {
		v.links[l.Attrs().Name] = l
	}
	v.addrs = nil
	return nil
}

// addrsOf returns a link's addresses, from one address dump of the namespace made
// the first time any is asked for (a reconcile that reads none makes no dump).
func (v *nsView) addrsOf(index int) ([]netlink.Addr, error) {
	if v.addrs == nil {
		addrs, err := listAllAddrs(v.h)
		if err != nil {
			return nil, err
		}
		v.addrs = map[int][]netlink.Addr{}
		for _, a := range addrs {
			v.addrs[a.LinkIndex] = append(v.addrs[a.LinkIndex], a)
		}
	}
	return v.addrs[index], nil
}

// refresh reads one link again after a write changed it.
func (v *nsView) refresh(name string) (netlink.Link, error) {
	l, err := v.h.LinkByName(name)
	if err != nil {
		return nil, err
	}
	v.links[name] = l
	return l, nil
}

// dumpRetries bounds the retries of a netlink dump the kernel reports as
// interrupted (it changed during the dump): the results may be incomplete, so they
// are read again rather than trusted or turned into a failed reconcile.
const dumpRetries = 10

func listLinks(h *netlink.Handle) ([]netlink.Link, error) {
	links, err := retryDump(h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	return links, nil
}

func listAllAddrs(h *netlink.Handle) ([]netlink.Addr, error) {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	return addrs, nil
}

// retryDump runs a netlink dump again while the kernel reports it interrupted.
func retryDump[T any](dump func() ([]T, error)) ([]T, error) {
	for range dumpRetries {
		out, err := dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return nil, fmt.Errorf("%w after %d tries", netlink.ErrDumpInterrupted, dumpRetries)
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsPrefix(list []netip.Prefix, s string) bool {
	for _, p := range list {
		if p.String() == s {
			return true
		}
	}
	return false
}

// NICMTU is the smallest MTU of the underlay NICs, wherever they are (on the host
// before their move, in the router netns after).
func (k *Kernel) NICMTU(netnsName string, nics []string) (int, error) {
	mtu, _, _, err := k.ReadNode(netnsName, nics, nil)
	return mtu, err
}

// ReadNode reads, in one look at the namespaces, what the plumber must know of the
// node before it changes anything: the underlay NICs' smallest MTU, wherever they
// are; whether one still on the host carries the host's default route or one of
// nodeIPs (inUse: moving it would cut the node off the cluster, and the fix could
// no longer reach it); and the host's routes that no localCIDR may take.
func (k *Kernel) ReadNode(netnsName string, nics []string, nodeIPs []netip.Addr) (mtu int, inUse error, routes []HostRoute, err error) {
	n, err := k.open(netnsName)
	if err != nil {
		return 0, nil, nil, err
	}
	defer n.Close()
	main, err := mainRoutes(n.host)
	if err != nil {
		return 0, nil, nil, err
	}
	for _, nic := range nics {
		l, err := n.router.LinkByName(nic)
		if err != nil {
			if l, err = n.host.LinkByName(nic); err != nil {
				return 0, nil, nil, fmt.Errorf("NIC %s is neither on the host nor in netns %s: %w", nic, netnsName, err)
			}
			if route, found := defaultRouteVia(main, l); found && inUse == nil {
				inUse = fmt.Errorf("NIC %s carries the host's default route (%s): moving it would cut the node off the cluster", nic, route)
			}
			if inUse == nil {
				addr, found, err := nodeAddressOn(n.host, l, nodeIPs)
				if err != nil {
					return 0, nil, nil, err
				}
				if found {
					inUse = fmt.Errorf("NIC %s carries the node's address %s: moving it would cut the node off the cluster", nic, addr)
				}
			}
		}
		if m := l.Attrs().MTU; mtu == 0 || m < mtu {
			mtu = m
		}
	}
	routes, err = hostRoutes(n.host, main, nics)
	return mtu, inUse, routes, err
}

// mainRoutes lists the host's main routing table, IPv4 and IPv6.
func mainRoutes(h *netlink.Handle) ([]netlink.Route, error) {
	var out []netlink.Route
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := h.RouteListFiltered(family, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return nil, fmt.Errorf("listing the host's routes: %w", err)
		}
		out = append(out, routes...)
	}
	return out, nil
}

// defaultRouteVia finds a default route of the host's main table through a link.
func defaultRouteVia(main []netlink.Route, l netlink.Link) (netlink.Route, bool) {
	for _, r := range main {
		if isDefault(r) && usesLink(r, l.Attrs().Index) {
			return r, true
		}
	}
	return netlink.Route{}, false
}

// nodeAddressOn finds one of the node's addresses (its InternalIPs) on a link.
func nodeAddressOn(h *netlink.Handle, l netlink.Link, nodeIPs []netip.Addr) (netip.Addr, bool, error) {
	if len(nodeIPs) == 0 {
		return netip.Addr{}, false, nil
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return netip.Addr{}, false, fmt.Errorf("listing the addresses of %s: %w", l.Attrs().Name, err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if ok && slices.Contains(nodeIPs, ip.Unmap()) {
			return ip.Unmap(), true, nil
		}
	}
	return netip.Addr{}, false, nil
}

func isDefault(r netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0
}

func usesLink(r netlink.Route, index int) bool {
	if r.LinkIndex == index {
		return true
	}
	for _, nh := range r.MultiPath {
		if nh.LinkIndex == index {
			return true
		}
	}
	return false
}
