package nodeplumber

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

func TestLocalCIDRInUse(t *testing.T) {
	red := L3VNIState{Name: "red", HostLegAddrs: []netip.Prefix{
		netip.MustParsePrefix("192.169.10.9/24"), netip.MustParsePrefix("fd00:10::9/64")}}
	route := func(dst, via string, connected bool) HostRoute {
		return HostRoute{Dst: netip.MustParsePrefix(dst), Via: via, Connected: connected}
	}
	tests := []struct {
		name  string
		route HostRoute
		want  string // "" when the L3VNI may run
	}{
		{"a pod CIDR inside it (blackhole)", route("192.169.10.0/26", "blackhole", true), "overlaps the node's route 192.169.10.0/26 blackhole"},
		{"the same prefix through another device", route("192.169.10.0/24", "dev cni0", true), "192.169.10.0/24 dev cni0"},
		{"a route inside it through a gateway", route("192.169.10.128/25", "via 10.0.0.1 dev eth0", false), "192.169.10.128/25"},
		{"the node's LAN around it", route("192.169.0.0/16", "dev eth0", true), "192.169.0.0/16 dev eth0"},
		{"an IPv6 subnet inside it", route("fd00:10::/80", "dev cni0", true), "fd00:10::/80"},
		{"a wider gateway route: a more specific prefix is routing as usual", route("192.169.0.0/16", "via 10.0.0.1 dev eth0", false), ""},
		{"a neighbouring subnet", route("192.169.11.0/24", "dev eth0", true), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := localCIDRInUse(red, []HostRoute{tt.route})
			switch {
			case tt.want == "" && p != nil:
				t.Errorf("refused: %s", p.Message)
			case tt.want != "" && (p == nil || p.Reason != ReasonLocalCIDRInUse || !strings.Contains(p.Message, tt.want)):
				t.Errorf("got %+v, want %s with %q", p, ReasonLocalCIDRInUse, tt.want)
			}
		})
	}
}

// TestNICWithTheDefaultRouteStays: a NIC that carries the host's default route
// is not moved (it would cut the node off the cluster); the node says why.
func TestNICWithTheDefaultRouteStays(t *testing.T) {
	p := newPlumberLab(t)
	frrinstance.Run(t, "ip", "-n", p.host, "route", "add", "default", "via", "192.168.11.2", "dev", "eth1")
	p.nicStays(t, p.plumber(p.stateFile), "NIC eth1 carries the host's default route")
}

// nicStays runs a pass that must leave eth1 on the host, write nothing to the
// kernel, and say why on the node's status.
func (p *plumberLab) nicStays(t *testing.T, r *Reconciler, why string) {
	t.Helper()
	kw := p.k.Writes()
	p.reconcile(t, r)
	if n := p.k.Writes() - kw; n != 0 {
		t.Errorf("%d netlink writes", n)
	}
	if _, err := p.handle(t, p.host).LinkByName("eth1"); err != nil {
		t.Errorf("the NIC left the host: %v", err)
	}
	readyIs(t, p.status(t), metav1.ConditionFalse, ReasonNICInUse, why)
}

// TestNodeNetworksStay: on a real host namespace, an underlay NIC that carries
// one of the node's addresses is not moved, and an L3VNI whose localCIDR
// overlaps a route the host already has (a pod CIDR) is not applied; the
// node's status says which and why, and the rest runs.
func TestNodeNetworksStay(t *testing.T) {
	p := newPlumberLab(t)
	ctx := context.Background()

	r := p.plumber(p.stateFile)
	r.NodeIPs = []netip.Addr{netip.MustParseAddr("192.168.11.1")}
	p.nicStays(t, r, "NIC eth1 carries the node's address 192.168.11.1")

	// The fabric NIC is not the node's: the underlay runs, red waits for its
	// localCIDR to be free of the node's pod CIDR.
	frrinstance.Run(t, "ip", "-n", p.host, "route", "add", "blackhole", "192.169.10.0/26")
	red := seedL3VNI()
	red.Namespace, red.Generation = p.ns, 0
	must(t, p.c.Create(ctx, &red))
	red.Status.Accepted = &evpnv1.AcceptedL3VNI{Generation: red.Generation, Spec: red.Spec, RouterASN: 64512}
	must(t, p.c.Status().Update(ctx, &red))
	r = p.plumber(p.stateFile)
	p.reconcile(t, r)
	p.runs(t, "100.65.0.1")
	st := p.status(t)
	readyIs(t, st, metav1.ConditionFalse, ReasonLocalCIDRInUse, "L3VNI red: localCIDR 192.169.10.0/24 overlaps the node's route 192.169.10.0/26 blackhole")
	if _, err := p.handle(t, p.host).LinkByName("hs100"); err == nil {
		t.Error("red's host leg was made over the node's pod CIDR")
	}
	p.noWrites(t, "the same again", func() { p.reconcile(t, r) })
}
