package nodeplumber

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
)

const sessionTimeout = 90 * time.Second // FRR under qemu's emulation is slow

// TestRouterSessions runs the whole node side on real FRR: the plumber's devices,
// the rendered configuration applied by the reloader to an FRR in the router
// netns, a leaf FRR over the moved NIC and FRR-K8s's stand-in (an FRR in the host
// netns) over each veth. Then an L3VNI goes without resetting the other's session,
// and the router's FRR is killed and restarted without touching the kernel. On
// the way, the router's EVPN state is read as the plumber reports it.
func TestRouterSessions(t *testing.T) {
	requireVRF(t)
	frrinstance.Require(t)
	l := newLab(t)
	ctx := context.Background()

	underlay := seedUnderlay()
	red, green := seedL3VNI(), seedL3VNI()
	green.Name, green.Spec.VNI, green.Spec.HostSession.LocalCIDR.IPv4 = "green", 200, "192.169.11.0/24"
	state := func(l3vnis ...evpnv1.L3VNI) State {
		s, err := desired(underlay, l3vnis, 0, NodeFacts{UnderlayMTU: 9000})
		if err != nil {
			t.Fatal(err)
		}
		s.Netns = l.router
		return s
	}
	both := state(red, green)

	if err := l.k.Apply(both); err != nil {
		t.Fatal(err)
	}
	router, reloader := l.routerFRR(t)
	apply := func(s State) {
		t.Helper()
		conf, err := frrtemplates.Render(s.FRR)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reloader.Apply(ctx, []byte(conf)); err != nil {
			t.Fatalf("%v\n%s", err, router.Logs())
		}
		if err := l.k.Finish(s); err != nil {
			t.Fatal(err)
		}
	}
	apply(both)

	leaf := frrinstance.StartIn(t, "leaf", l.leaf)
	leaf.Configure(t, `router bgp 64612
 bgp router-id 10.255.0.1
 no bgp ebgp-requires-policy
 neighbor 192.168.11.1 remote-as 64512
 address-family l2vpn evpn
  neighbor 192.168.11.1 activate
 exit-address-family
exit
`)
	hostFRR := frrinstance.StartIn(t, "frrk8s", l.host)
	// FRR-K8s's stand-in announces one prefix to both VRFs: each advertises it
	// to the fabric as a type-5 route.
	hostFRR.Configure(t, `router bgp 64515
 bgp router-id 10.255.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 192.169.10.1 remote-as 64512
 neighbor 192.169.11.1 remote-as 64512
 address-family ipv4 unicast
  network 10.98.0.0/24
 exit-address-family
exit
`)

	router.WaitEstablished(t, "", "192.168.11.2", sessionTimeout)
	router.WaitEstablished(t, "red", "192.169.10.2", sessionTimeout)
	greenBefore := router.WaitEstablished(t, "green", "192.169.11.2", sessionTimeout)
	underlayBefore := router.BGPNeighbor(t, "", "192.168.11.2")
	hostFRR.WaitEstablished(t, "", "192.169.10.1", sessionTimeout)
	if out := router.Vtysh(t, "show vrf vni"); !strings.Contains(out, "red") || !strings.Contains(out, "100") {
		t.Errorf("zebra does not bind VNI 100 to VRF red:\n%s", out)
	}
	// The state the plumber reports, read from this FRR and kernel: the fabric
	// session, both VNIs up in zebra, each with its host-leg session and two
	// type-5 routes: the host's prefix and the host leg's own /32.
	waitState(t, reloader, func(st frrstate.Router) string {
		if len(st.Fabric) != 1 || st.Fabric[0].Peer != "192.168.11.2" || st.Fabric[0].State != "Established" || st.Fabric[0].Since.IsZero() {
			return "fabric session to the leaf"
		}
		want := map[int]string{100: "192.169.10.2", 200: "192.169.11.2"}
		for _, v := range st.VNIs {
			if leg, ok := want[v.VNI]; ok && v.State == "Up" && v.RouterMAC != "" && v.Type5Advertised == 2 &&
				len(v.HostSessions) == 1 && v.HostSessions[0].Peer == leg && v.HostSessions[0].State == "Established" && v.HostSessions[0].PrefixesReceived == 1 {
				delete(want, v.VNI)
			}
		}
		if len(want) > 0 {
			return fmt.Sprintf("VNIs %v up with two type-5 routes and their host session", want)
		}
		return ""
	})

	// red goes: its stanzas, then its devices; green's and the underlay's
	// sessions stay.
	onlyGreen := state(green)
	if err := l.k.Apply(onlyGreen); err != nil {
		t.Fatal(err)
	}
	apply(onlyGreen)
	// FRR 10.7 keeps an empty "vrf red" while the kernel's VRF exists (it cannot
	// delete an active VRF, and the devices go after the reload): what matters is
	// that red's BGP instance and VNI are gone.
	if running := router.Vtysh(t, "show running-config"); strings.Contains(running, "router bgp 64512 vrf red") || strings.Contains(running, " vni 100\n") {
		t.Errorf("red's stanzas are still running:\n%s", running)
	}
	time.Sleep(3 * time.Second)
	for _, c := range []struct {
		vrf, addr string
		before    frrinstance.Neighbor
	}{{"green", "192.169.11.2", greenBefore}, {"", "192.168.11.2", underlayBefore}} {
		n := router.BGPNeighbor(t, c.vrf, c.addr)
		if n.State != "Established" || n.ConnectionsDropped != c.before.ConnectionsDropped {
			t.Errorf("removing red reset the session %s %s: before %+v, after %+v", c.vrf, c.addr, c.before, n)
		}
	}

	// The router's FRR dies: the kernel keeps every device; a new FRR restored
	// from the last good configuration brings the sessions back.
	links := func() map[string]int {
		out := map[string]int{}
		h := l.handle(t, l.router)
		ls, err := h.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ls {
			out[x.Attrs().Name] = x.Attrs().Index
		}
		return out
	}
	before := links()
	router.Stop()
	_ = exec.Command("sleep", "1").Run()
	after := links()
	for name, idx := range before {
		if after[name] != idx {
			t.Errorf("device %s changed when FRR died (index %d -> %d)", name, idx, after[name])
		}
	}
	writes := l.k.Writes()
	if err := l.k.Apply(onlyGreen); err != nil {
		t.Fatal(err)
	}
	if err := l.k.Finish(onlyGreen); err != nil {
		t.Fatal(err)
	}
	if n := l.k.Writes() - writes; n != 0 {
		t.Errorf("the plumber made %d netlink writes after an FRR crash; the kernel needs none", n)
	}
	restarted := frrinstance.StartIn(t, "router2", l.router)
	reloader.VtySocket = restarted.Dir
	if err := reloader.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	restarted.WaitEstablished(t, "green", "192.169.11.2", sessionTimeout)
	restarted.WaitEstablished(t, "", "192.168.11.2", sessionTimeout)
}

// waitState reads the router's state until missing returns "" (it names what is
// still missing), or fails after sessionTimeout with the last state read.
func waitState(t *testing.T, r *frrreload.Reloader, missing func(frrstate.Router) string) {
	t.Helper()
	deadline := time.Now().Add(sessionTimeout)
	for {
		st, err := r.State(context.Background())
		what := "a readable FRR"
		if err == nil {
			if what = missing(st); what == "" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the router's state never showed %s: %+v, %v", what, st, err)
		}
		time.Sleep(time.Second)
	}
}
