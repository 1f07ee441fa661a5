package nodeplumber

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
)

// The netns layer: the plumber's netlink code against the real kernel, in
// throwaway namespaces. "host" stands in for the node's host namespace and "leaf"
// for the fabric; the NIC is a veth between them. Tests that need a VRF run in the
// VM layer (make test-vm) when this kernel lacks VRF.

type lab struct {
	host, leaf, router string
	k                  *Kernel
	handles            []*netlink.Handle // the test's own, closed by closeHandles
}

// closeHandles closes the test's netlink handles: an open netlink socket keeps its
// namespace alive.
func (l *lab) closeHandles() {
	for _, h := range l.handles {
		h.Close()
	}
	l.handles = nil
}

func requireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP netns layer: -short (make test-unit)")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("EVPN_REQUIRE_ALL_LAYERS") != "" {
			t.Fatal("the netns layer needs root")
		}
		t.Skip("SKIP netns layer: needs root")
	}
}

// requireVRF skips, with the reason, where the kernel cannot create a VRF; the VM
// layer (EVPN_IN_VM) runs these tests on a kernel that can.
func requireVRF(t testing.TB) {
	t.Helper()
	requireRoot(t)
	ns := frrinstance.NewNetns(t, "vrfprobe")
	err := exec.Command("ip", "-n", ns, "link", "add", "probe", "type", "vrf", "table", "10").Run()
	if err == nil {
		return
	}
	if os.Getenv("EVPN_IN_VM") != "" {
		t.Fatalf("the VM's kernel cannot create a VRF: %v", err)
	}
	t.Skip("SKIP: this kernel lacks VRF; the VM layer (make test-vm) runs this test")
}

// routerFRR starts the router's FRR in the router netns, first making the netns
// when the plumber has not (the router pod waits for it), and a reloader for it.
func (l *lab) routerFRR(t *testing.T) (*frrinstance.Instance, *frrreload.Reloader) {
	t.Helper()
	if _, err := os.Stat("/run/netns/" + l.router); err != nil {
		frrinstance.Run(t, "ip", "netns", "add", l.router)
		frrinstance.Run(t, "ip", "-n", l.router, "link", "set", "lo", "up")
	}
	router := frrinstance.StartIn(t, "router", l.router)
	dir := t.TempDir()
	return router, &frrreload.Reloader{LastGood: filepath.Join(dir, "last", "frr.conf"), WorkDir: dir, VtySocket: router.Dir, Log: logFor(t)}
}

func newLab(t testing.TB) *lab {
	t.Helper()
	requireRoot(t)
	l := &lab{host: frrinstance.NewNetns(t, "host"), leaf: frrinstance.NewNetns(t, "leaf")}
	l.router = "rt-" + l.host[len(l.host)-6:]
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", l.router).Run() })
	frrinstance.Link(t, l.host, "eth1", "192.168.11.1/24", l.leaf, "eth0", "192.168.11.2/24")
	frrinstance.Run(t, "ip", "-n", l.host, "link", "set", "eth1", "mtu", "9000")
	l.k = &Kernel{HostNetns: l.host, Log: logFor(t)}
	t.Cleanup(l.closeHandles)
	t.Cleanup(l.k.Close)
	return l
}

func (l *lab) state(l3vnis ...L3VNIState) State {
	return State{Netns: l.router, L3VNIs: l3vnis, Underlay: UnderlayState{
		Name: "fabric", NICs: []string{"eth1"}, VTEP: netip.MustParseAddr("100.65.0.1"),
		RouterID: netip.MustParseAddr("10.0.0.1"), ASN: 64512, VXLANPort: 4789,
	}}
}

func (l *lab) handle(t testing.TB, ns string) *netlink.Handle {
	t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	l.handles = append(l.handles, nl)
	return nl
}

func addrsOf(t *testing.T, h *netlink.Handle, name string) []string {
	t.Helper()
	link, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if !a.IP.IsLinkLocalUnicast() {
			out = append(out, a.IPNet.String())
		}
	}
	return out
}

// apply runs both steps of s (Apply, then Finish) and returns the netlink writes
// they made.
func apply(t *testing.T, k *Kernel, s State) int64 {
	t.Helper()
	before := k.Writes()
	if err := k.Apply(s); err != nil {
		t.Fatal(err)
	}
	if err := k.Finish(s); err != nil {
		t.Fatal(err)
	}
	return k.Writes() - before
}

// applyTwice applies s and checks that applying it again writes nothing.
func applyTwice(t *testing.T, k *Kernel, s State) {
	t.Helper()
	apply(t, k, s)
	if n := apply(t, k, s); n != 0 {
		t.Fatalf("a second apply with nothing to change made %d netlink writes", n)
	}
}

func TestUnderlayNICMoveAndBack(t *testing.T) {
	l := newLab(t)
	applyTwice(t, l.k, l.state())

	router, host := l.handle(t, l.router), l.handle(t, l.host)
	nic, err := router.LinkByName("eth1")
	if err != nil {
		t.Fatalf("eth1 is not in the router netns: %v", err)
	}
	if nic.Attrs().MTU != 9000 || nic.Attrs().Flags&net.FlagUp == 0 || nic.Attrs().Alias != MovedNICAlias {
		t.Errorf("moved NIC: mtu %d, flags %v, alias %q", nic.Attrs().MTU, nic.Attrs().Flags, nic.Attrs().Alias)
	}
	if got := addrsOf(t, router, "eth1"); len(got) != 1 || got[0] != "192.168.11.1/24" {
		t.Errorf("moved NIC addresses = %v, want 192.168.11.1/24", got)
	}
	if got := addrsOf(t, router, "lo"); !strings.Contains(strings.Join(got, " "), "100.65.0.1/32") {
		t.Errorf("loopback addresses = %v, want the VTEP", got)
	}
	// The fabric is reachable from the router netns through the moved NIC.
	frrinstance.Run(t, "ip", "netns", "exec", l.router, "ping", "-c1", "-W2", "192.168.11.2")
	fwd := frrinstance.Run(t, "ip", "netns", "exec", l.router, "cat", "/proc/sys/net/ipv4/ip_forward")
	if strings.TrimSpace(fwd) != "1" {
		t.Errorf("ip_forward = %q in the router netns", fwd)
	}

	// The Underlay goes: the NIC comes back to the host with its address.
	applyTwice(t, l.k, State{Netns: l.router})
	if _, err := router.LinkByName("eth1"); err == nil {
		t.Fatal("eth1 is still in the router netns")
	}
	if got := addrsOf(t, host, "eth1"); len(got) != 1 || got[0] != "192.168.11.1/24" {
		t.Errorf("NIC back on the host with addresses %v", got)
	}
	back, _ := host.LinkByName("eth1")
	if back.Attrs().Alias != "" || back.Attrs().MTU != 9000 {
		t.Errorf("NIC back on the host: alias %q, MTU %d", back.Attrs().Alias, back.Attrs().MTU)
	}
	if got := addrsOf(t, router, "lo"); strings.Contains(strings.Join(got, " "), "100.65.0.1/32") {
		t.Errorf("the VTEP stayed on lo: %v", got)
	}
	frrinstance.Run(t, "ip", "netns", "exec", l.host, "ping", "-c1", "-W2", "192.168.11.2")
}

// The router netns deleted by hand (`ip netns del`) while FRR runs in it lives on
// unnamed: the plumber names it again, and everything inside carries on. Before,
// the next pass made a new, empty netns beside it, and the NIC stayed in the old.
func TestRouterNetnsDeletedByHand(t *testing.T) {
	l := newLab(t)
	applyTwice(t, l.k, l.state())
	// What FRR's processes would do: hold the namespace.
	before, err := netns.GetFromName(l.router)
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()

	frrinstance.Run(t, "ip", "netns", "del", l.router)
	if n := apply(t, l.k, l.state()); n != 1 {
		t.Errorf("naming the netns again took %d netlink writes, want 1 (the bind mount)", n)
	}
	after, err := netns.GetFromName(l.router)
	if err != nil {
		t.Fatalf("the router netns is not named again: %v", err)
	}
	defer after.Close()
	if !after.Equal(before) {
		t.Fatal("the name points to a new namespace, not the one the NIC and FRR are in")
	}
	if got := addrsOf(t, l.handle(t, l.router), "eth1"); len(got) != 1 || got[0] != "192.168.11.1/24" {
		t.Errorf("the NIC in the named netns has addresses %v, want 192.168.11.1/24", got)
	}
	frrinstance.Run(t, "ip", "netns", "exec", l.router, "ping", "-c1", "-W2", "192.168.11.2")
	applyTwice(t, l.k, l.state())
}

func TestStaleRemovedForeignUntouched(t *testing.T) {
	l := newLab(t)
	if err := l.k.Apply(l.state()); err != nil {
		t.Fatal(err)
	}
	// In the router netns: a bridge of ours left from an older L3VNI, and a
	// foreign one; on the host: a foreign veth named like a host leg.
	frrinstance.Run(t, "ip", "-n", l.router, "link", "add", "br555", "type", "bridge")
	frrinstance.Run(t, "ip", "-n", l.router, "link", "set", "br555", "alias", OwnedAlias)
	frrinstance.Run(t, "ip", "-n", l.router, "link", "add", "foreign0", "type", "bridge")
	frrinstance.Run(t, "ip", "-n", l.host, "link", "add", "hs777", "type", "veth", "peer", "name", "x777")
	if n := apply(t, l.k, l.state()); n != 1 {
		t.Errorf("%d writes, want exactly 1 (the stale bridge's removal)", n)
	}
	router, host := l.handle(t, l.router), l.handle(t, l.host)
	if _, err := router.LinkByName("br555"); err == nil {
		t.Error("the stale bridge of ours was not removed")
	}
	for _, c := range []struct {
		h    *netlink.Handle
		name string
	}{{router, "foreign0"}, {host, "hs777"}, {host, "x777"}} {
		if _, err := c.h.LinkByName(c.name); err != nil {
			t.Errorf("foreign device %s was touched: %v", c.name, err)
		}
	}
}

// seedL3VNIState is the seed lab's L3VNI on node index 0, with the lab's MTU.
func seedL3VNIState(vni int32, vrf string, third int) L3VNIState {
	return L3VNIState{
		Name: vrf, Generation: 1, VNI: vni, VRF: vrf, Table: TableOffset + uint32(vni),
		Bridge: "br" + itoa(vni), VXLAN: "vx" + itoa(vni), RouterLeg: "pe" + itoa(vni), HostLeg: "hs" + itoa(vni),
		RouterLegAddrs: []netip.Prefix{netip.MustParsePrefix("192.169." + itoa(int32(third)) + ".1/24")},
		HostLegAddrs:   []netip.Prefix{netip.MustParsePrefix("192.169." + itoa(int32(third)) + ".2/24")},
		MTU:            8950, RouterASN: 64512, HostASN: 64515,
	}
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

// TestL3VNIDevices needs a VRF: full apply of two L3VNIs, idempotence, the
// removal of one without touching the other, and recovery of a deleted veth.
func TestL3VNIDevices(t *testing.T) {
	requireVRF(t)
	l := newLab(t)
	red, green := seedL3VNIState(100, "red", 10), seedL3VNIState(200, "green", 11)
	green.RouterLegAddrs = append(green.RouterLegAddrs, netip.MustParsePrefix("fd00:11::1/64"))
	green.HostLegAddrs = append(green.HostLegAddrs, netip.MustParsePrefix("fd00:11::2/64"))
	s := l.state(red, green)

	// Apply leaves the new VRFs, bridges and VXLANs down until FRR knows the VNIs:
	// Finish brings them up...
	if err := l.k.Apply(s); err != nil {
		t.Fatal(err)
	}
	router, host := l.handle(t, l.router), l.handle(t, l.host)
	if vx, _ := router.LinkByName("vx100"); vx == nil || vx.Attrs().Flags&net.FlagUp != 0 {
		t.Fatalf("vx100 must exist and be down before Activate: %+v", vx)
	}
	// ...but the veth is up at once, so that FRR-K8s finds its host leg usable.
	if pe, _ := router.LinkByName("pe100"); pe == nil || pe.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("pe100 must be up after Apply: %+v", pe)
	}
	applyTwice(t, l.k, s)

	for _, v := range []L3VNIState{red, green} {
		vrf, err := router.LinkByName(v.VRF)
		if err != nil {
			t.Fatalf("VRF %s: %v", v.VRF, err)
		}
		if got := vrf.(*netlink.Vrf).Table; got != v.Table {
			t.Errorf("VRF %s table %d, want %d", v.VRF, got, v.Table)
		}
		br, _ := router.LinkByName(v.Bridge)
		vx, _ := router.LinkByName(v.VXLAN)
		pe, _ := router.LinkByName(v.RouterLeg)
		hs, err := host.LinkByName(v.HostLeg)
		if br == nil || vx == nil || pe == nil || err != nil {
			t.Fatalf("%s: bridge %v, vxlan %v, router leg %v, host leg %v", v.Name, br, vx, pe, err)
		}
		if br.Attrs().MasterIndex != vrf.Attrs().Index || pe.Attrs().MasterIndex != vrf.Attrs().Index || vx.Attrs().MasterIndex != br.Attrs().Index {
			t.Errorf("%s: wrong masters: bridge->%d, router leg->%d (VRF %d), vxlan->%d (bridge %d)",
				v.Name, br.Attrs().MasterIndex, pe.Attrs().MasterIndex, vrf.Attrs().Index, vx.Attrs().MasterIndex, br.Attrs().Index)
		}
		x := vx.(*netlink.Vxlan)
		if x.VxlanId != int(v.VNI) || !x.SrcAddr.Equal(net.ParseIP("100.65.0.1")) || x.Port != 4789 || x.Learning {
			t.Errorf("%s: vxlan id %d local %s port %d learning %v", v.Name, x.VxlanId, x.SrcAddr, x.Port, x.Learning)
		}
		for _, link := range []netlink.Link{br, vx, pe, hs} {
			if link.Attrs().MTU != 8950 || link.Attrs().Flags&net.FlagUp == 0 || link.Attrs().Alias != OwnedAlias {
				t.Errorf("%s: mtu %d flags %v alias %q", link.Attrs().Name, link.Attrs().MTU, link.Attrs().Flags, link.Attrs().Alias)
			}
		}
		if got, want := strings.Join(addrsOf(t, router, v.RouterLeg), " "), prefixes(v.RouterLegAddrs); got != want {
			t.Errorf("%s router leg addresses %q, want %q", v.Name, got, want)
		}
		if got, want := strings.Join(addrsOf(t, host, v.HostLeg), " "), prefixes(v.HostLegAddrs); got != want {
			t.Errorf("%s host leg addresses %q, want %q", v.Name, got, want)
		}
	}
	// The host reaches the router leg through the veth, in the VRF.
	frrinstance.Run(t, "ip", "netns", "exec", l.host, "ping", "-c1", "-W2", "192.169.10.1")

	// Someone deletes a veth by hand: the next apply recreates it.
	frrinstance.Run(t, "ip", "-n", l.host, "link", "del", "hs100")
	applyTwice(t, l.k, s)
	frrinstance.Run(t, "ip", "netns", "exec", l.host, "ping", "-c1", "-W2", "192.169.10.1")

	// red goes: its devices go, green's stay exactly as they were.
	greenVX, _ := router.LinkByName("vx200")
	if err := l.k.Apply(l.state(green)); err != nil {
		t.Fatal(err)
	}
	if _, err := router.LinkByName("vx100"); err != nil {
		t.Error("Apply removed red's devices: only Finish, after FRR's reload, may")
	}
	if err := l.k.Finish(l.state(green)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		h    *netlink.Handle
		name string
	}{{router, "red"}, {router, "br100"}, {router, "vx100"}, {router, "pe100"}, {host, "hs100"}} {
		if _, err := c.h.LinkByName(c.name); err == nil {
			t.Errorf("%s is still there after its L3VNI went", c.name)
		}
	}
	if vx, err := router.LinkByName("vx200"); err != nil || vx.Attrs().Index != greenVX.Attrs().Index {
		t.Errorf("green's VXLAN was replaced or removed: %v", err)
	}

	// Someone deletes the router netns by hand: the plumber holds it, so it lives
	// on, and the next apply names it again with everything inside untouched.
	frrinstance.Run(t, "ip", "netns", "del", l.router)
	if n := apply(t, l.k, l.state(green)); n != 1 {
		t.Errorf("after the netns was deleted by hand: %d netlink writes, want 1 (naming it again)", n)
	}
	if n := apply(t, l.k, l.state(green)); n != 0 {
		t.Errorf("a second apply after the netns was named again made %d netlink writes", n)
	}
	if vx, err := l.handle(t, l.router).LinkByName("vx200"); err != nil || vx.Attrs().Index != greenVX.Attrs().Index {
		t.Errorf("green's VXLAN was replaced or removed with the netns's name: %v", err)
	}

	// Deleted while nothing holds it (a plumber started after the deletion holds
	// no handle): its devices die with it (a real NIC would return to the host;
	// the lab's veth NIC is destroyed, so the test cables a new one). The next
	// apply rebuilds the netns and everything in it.
	l.closeHandles()
	l.k.Close()
	frrinstance.Run(t, "ip", "netns", "del", l.router)
	for i := 0; exec.Command("ip", "-n", l.leaf, "link", "show", "eth0").Run() == nil; i++ {
		if i == 100 {
			t.Fatal("the NIC's peer outlived the deleted netns")
		}
		time.Sleep(100 * time.Millisecond) // the kernel tears a netns down asynchronously
	}
	frrinstance.Link(t, l.host, "eth1", "192.168.11.1/24", l.leaf, "eth0", "192.168.11.2/24")
	applyTwice(t, l.k, l.state(green))
	router = l.handle(t, l.router)
	for _, name := range []string{"eth1", "green", "br200", "vx200", "pe200"} {
		if _, err := router.LinkByName(name); err != nil {
			t.Errorf("%s not rebuilt after the netns was deleted: %v", name, err)
		}
	}
	frrinstance.Run(t, "ip", "netns", "exec", l.host, "ping", "-c1", "-W2", "192.169.11.1")
	frrinstance.Run(t, "ip", "netns", "exec", l.router, "ping", "-c1", "-W2", "192.168.11.2")

	// A device of someone else in the way of an L3VNI is an error, not replaced.
	frrinstance.Run(t, "ip", "-n", l.router, "link", "add", "br300", "type", "dummy")
	blue := seedL3VNIState(300, "blue", 12)
	if err := l.k.Apply(l.state(green, blue)); err == nil || !strings.Contains(err.Error(), "not ours") {
		t.Errorf("apply over a foreign br300: err = %v", err)
	}
}

func prefixes(ps []netip.Prefix) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return strings.Join(s, " ")
}

// logFor logs through the test when it is a *testing.T; benchmarks stay quiet.
func logFor(t testing.TB) logr.Logger {
	if tt, ok := t.(*testing.T); ok {
		return testr.New(tt)
	}
	return logr.Discard()
}

// TestKernelOnTheCallersNamespace uses a Kernel as cmd/nodeplumber does, with no
// HostNetns: the host is the caller's own namespace. Only a throwaway router netns
// is created; nothing on this machine's host namespace is written.
func TestKernelOnTheCallersNamespace(t *testing.T) {
	requireRoot(t)
	name := "rt-own-" + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	k := &Kernel{Log: logFor(t)}
	mtu, err := k.NICMTU(name, []string{"lo"})
	if err != nil || mtu != 65536 {
		t.Fatalf("lo's MTU through the router netns = %d, %v", mtu, err)
	}
	if err := exec.Command("ip", "netns", "exec", name, "true").Run(); err != nil {
		t.Fatalf("the router netns was not created: %v", err)
	}
}
