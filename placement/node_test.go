package placement

import (
	"testing"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

func TestPlace(t *testing.T) {
	a := publishedUnderlay(underlay("a", 0, "g", "100.65.0.0/28")) // hosts 1..14: indexes 0..13
	b := publishedUnderlay(underlay("b", 5, "g", "100.66.0.0/24"))
	red := publishedL3VNI(l3vni("red", 0, 100, "192.169.10.0/24"))
	tiny := publishedL3VNI(l3vni("tiny", 0, 200, "10.9.0.0/29")) // host legs 2..6: indexes 0..4
	g := map[string]string{"group": "g"}
	tests := []struct {
		name      string
		node      Node
		underlays []evpnv1.Underlay
		// want: the plan's String()
		want string
	}{
		{"one Underlay, two L3VNIs", Node{Name: "n", Labels: g, Index: 3, HasIndex: true}, []evpnv1.Underlay{a},
			"node n: underlay a; red tiny"},
		{"the host leg does not fit: that L3VNI fails on this node only", Node{Name: "n", Labels: g, Index: 5, HasIndex: true}, []evpnv1.Underlay{a},
			"node n: underlay a; red tiny(AddressOutOfRange)"},
		{"index 14 under a /28: the node fails, with its L3VNIs", Node{Name: "n", Labels: g, Index: 14, HasIndex: true}, []evpnv1.Underlay{a},
			"node n: underlay a (AddressOutOfRange); red(UnderlayFailed) tiny(UnderlayFailed)"},
		{"no index yet", Node{Name: "n", Labels: g}, []evpnv1.Underlay{a},
			"node n: underlay a (NoNodeIndex); red(NoNodeIndex) tiny(NoNodeIndex)"},
		{"no Underlay selects the node", Node{Name: "n", Labels: g, Index: 1, HasIndex: true}, nil,
			"node n: underlay none; red(NodeWithoutUnderlay) tiny(NodeWithoutUnderlay)"},
		{"two Underlays: the oldest owns a new node", Node{Name: "n", Labels: g, Index: 1, HasIndex: true}, []evpnv1.Underlay{b, a},
			"node n: underlay a; red tiny"},
		{"two Underlays: the node keeps the one it runs", Node{Name: "n", Labels: g, Index: 1, HasIndex: true, RunningUnderlay: "b"}, []evpnv1.Underlay{a, b},
			"node n: underlay b; red tiny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, ls := Published(tt.underlays, []evpnv1.L3VNI{tiny, red})
			p := Place(tt.node, us, ls)
			if got := p.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if len(tt.underlays) == 2 && len(p.Others) != 1 {
				t.Errorf("the other Underlay must fail on this node: %+v", p.Others)
			}
		})
	}
}

// TestPublishedIsWhatWasAccepted: a plumber reading the objects the controller
// wrote places nodes exactly as the controller did from its verdicts.
func TestPublishedIsWhatWasAccepted(t *testing.T) {
	u := underlay("a", 0, "g", "100.65.0.0/24")
	l := l3vni("red", 0, 100, "192.169.10.0/24")
	bad := l3vni("dup", 1, 100, "10.1.0.0/24")
	v := Accept([]evpnv1.Underlay{u}, []evpnv1.L3VNI{l, bad}, Cluster{FRRK8sNamespace: "x"})
	// What the controller writes back into status.
	u.Status.Accepted = v.Underlays[0].Accepted
	for _, lv := range v.L3VNIs {
		if lv.L3VNI.Name == "red" {
			l.Status.Accepted = lv.Accepted
		}
	}
	n := Node{Name: "n", Labels: map[string]string{"group": "g"}, Index: 0, HasIndex: true}
	cu, cl := v.Published()
	pu, pl := Published([]evpnv1.Underlay{u}, []evpnv1.L3VNI{l, bad})
	controller, plumber := Place(n, cu, cl), Place(n, pu, pl)
	if controller.String() != plumber.String() || controller.String() != "node n: underlay a; red" {
		t.Errorf("controller %s, plumber %s", controller.String(), plumber.String())
	}
}

// TestIndexLimitAgreesWithAddressing: the fast check of whether an index fits
// says what addressing says, at every index around the edges.
func TestIndexLimitAgreesWithAddressing(t *testing.T) {
	for _, cidrs := range [][2]string{{"10.0.0.0/28", ""}, {"10.0.0.0/30", ""}, {"192.169.10.0/24", "fd00::/120"}, {"", "fd00::/64"}, {"10.0.0.0/31", ""}} {
		l := L3VNI{Name: "x"}
		l.Spec.HostSession.LocalCIDR = evpnv1.LocalCIDR{IPv4: cidrs[0], IPv6: cidrs[1]}
		lim := l3vniLimit(&l.Spec)
		for idx := 0; idx < 300; idx++ {
			slow := func() bool {
				c := l
				c.fits = indexLimit{}
				return hostLegProblem(Node{Name: "n", Index: idx}, &c) == nil
			}()
			if fast := lim.fits(idx); fast != slow {
				t.Errorf("%v index %d: fast %v, addressing %v", cidrs, idx, fast, slow)
			}
		}
	}
}
