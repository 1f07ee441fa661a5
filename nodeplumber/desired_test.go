package nodeplumber

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// planFor places a node as the controller would, with these objects accepted.
func planFor(u *evpnv1.Underlay, l3vnis []evpnv1.L3VNI, index int) placement.NodePlan {
	var us []evpnv1.Underlay
	if u != nil {
		c := *u.DeepCopy()
		c.Status.Accepted = &evpnv1.AcceptedUnderlay{Generation: c.Generation, Spec: c.Spec}
		us = append(us, c)
	}
	var ls []evpnv1.L3VNI
	for _, l := range l3vnis {
		c := *l.DeepCopy()
		c.Status.Accepted = &evpnv1.AcceptedL3VNI{Generation: c.Generation, Spec: c.Spec, RouterASN: 64512}
		if l.Spec.HostSession.ASN != nil {
			c.Status.Accepted.RouterASN = *l.Spec.HostSession.ASN
		}
		ls = append(ls, c)
	}
	pu, pl := placement.Published(us, ls)
	return placement.Place(placement.Node{Name: "node1", Index: index, HasIndex: true}, pu, pl)
}

// desired is Desired for one node with these objects accepted; err is the first
// problem, if any.
func desired(u *evpnv1.Underlay, l3vnis []evpnv1.L3VNI, index int, facts NodeFacts) (State, error) {
	d := Desired(planFor(u, l3vnis, index), facts)
	if d.UnderlayProblem != nil {
		return d.State, errors.New(d.UnderlayProblem.Message)
	}
	for _, p := range d.L3VNIProblems {
		return d.State, errors.New(p.Message)
	}
	return d.State, nil
}

func seedUnderlay() *evpnv1.Underlay {
	return &evpnv1.Underlay{
		ObjectMeta: metav1.ObjectMeta{Name: "fabric", Generation: 3},
		Spec: evpnv1.UnderlaySpec{
			ASN: 64512, NICs: []evpnv1.InterfaceName{"eth1"}, VTEPCIDR: "100.65.0.0/24",
			Neighbors: []evpnv1.Neighbor{{Address: "192.168.11.2", ASN: 64612}},
		},
	}
}

func seedL3VNI() evpnv1.L3VNI {
	return evpnv1.L3VNI{
		ObjectMeta: metav1.ObjectMeta{Name: "red", Generation: 2},
		Spec: evpnv1.L3VNISpec{VNI: 100, HostSession: evpnv1.HostSession{
			HostASN: 64515, LocalCIDR: evpnv1.LocalCIDR{IPv4: "192.169.10.0/24"}}},
	}
}

func TestDesired(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	i32 := func(v int32) *int32 { return &v }
	tests := []struct {
		name   string
		edit   func(u *evpnv1.Underlay, l *evpnv1.L3VNI, n *testNode)
		check  func(t *testing.T, s State)
		errHas string
	}{
		{"seed lab, index 0", nil, func(t *testing.T, s State) {
			l := s.L3VNIs[0]
			want := L3VNIState{Name: "red", Generation: 2, VNI: 100, VRF: "red", Table: 1100, Bridge: "br100", VXLAN: "vx100",
				RouterLeg: "pe100", HostLeg: "hs100", MTU: 1450, RouterASN: 64512, HostASN: 64515,
				RouterLegAddrs: []netip.Prefix{netip.MustParsePrefix("192.169.10.1/24")},
				HostLegAddrs:   []netip.Prefix{netip.MustParsePrefix("192.169.10.2/24")}}
			if !equalL3VNI(l, want) {
				t.Errorf("L3VNI state\n got %+v\nwant %+v", l, want)
			}
			if s.Underlay.VTEP.String() != "100.65.0.1" || s.Underlay.RouterID.String() != "10.0.0.1" || s.Underlay.VXLANPort != 4789 || s.Netns != "evpnrouter" {
				t.Errorf("underlay state %+v", s.Underlay)
			}
		}, ""},
		{"index 7, jumbo underlay, dual stack", func(u *evpnv1.Underlay, l *evpnv1.L3VNI, n *testNode) {
			n.Index, n.UnderlayMTU = 7, 9000
			l.Spec.HostSession.LocalCIDR.IPv6 = "fd00:10::/64"
		}, func(t *testing.T, s State) {
			l := s.L3VNIs[0]
			if l.MTU != 8950 || l.HostLegAddrs[0].String() != "192.169.10.9/24" || l.HostLegAddrs[1].String() != "fd00:10::9/64" ||
				l.RouterLegAddrs[1].String() != "fd00:10::1/64" || s.Underlay.VTEP.String() != "100.65.0.8" {
				t.Errorf("state %+v / %+v", l, s.Underlay)
			}
			if len(s.FRR.VRFs[0].HostNeighbors) != 2 {
				t.Errorf("want a v4 and a v6 host neighbor: %+v", s.FRR.VRFs[0].HostNeighbors)
			}
		}, ""},
		{"explicit MTU, router ASN and VRF", func(u *evpnv1.Underlay, l *evpnv1.L3VNI, n *testNode) {
			l.Spec.MTU, l.Spec.HostSession.ASN, l.Spec.VRF = i32(1400), i64(4200000000), "tenant-a"
		}, func(t *testing.T, s State) {
			l := s.L3VNIs[0]
			if l.MTU != 1400 || l.RouterASN != 4200000000 || s.FRR.VRFs[0].ASN != 4200000000 || l.VRF != "tenant-a" {
				t.Errorf("state %+v", l)
			}
		}, ""},
		{"timers and password", func(u *evpnv1.Underlay, l *evpnv1.L3VNI, n *testNode) {
			u.Spec.Neighbors[0].HoldTime = &metav1.Duration{Duration: 9e9}
			u.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: "leaf"}
			n.Passwords = map[string]string{"leaf": "s3cret"}
		}, func(t *testing.T, s State) {
			nb := s.FRR.Underlay.Neighbors[0]
			if nb.HoldSeconds != 9 || nb.KeepaliveSeconds != 3 || nb.Password != "s3cret" {
				t.Errorf("neighbor %+v", nb)
			}
		}, ""},
		{"missing password Secret", func(u *evpnv1.Underlay, l *evpnv1.L3VNI, n *testNode) {
			u.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: "leaf"}
		}, nil, `password Secret "leaf" not found`},
		{"password Secret not granted", func(u *evpnv1.Underlay, l *evpnv1.L3VNI, n *testNode) {
			u.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: "leaf"}
			n.SecretErrors = map[string]error{"leaf": errors.New(`secrets "leaf" is forbidden`)}
		}, nil, `password Secret "leaf" cannot be read: secrets "leaf" is forbidden`},
		{"vtepCIDR exhausted", func(u *evpnv1.Underlay, l *evpnv1.L3VNI, n *testNode) {
			u.Spec.VTEPCIDR, n.Index = "100.65.0.0/30", 2
		}, nil, "Underlay fabric: vtepCIDR 100.65.0.0/30 has no address for node node1: its index 2 needs host 3"},
		{"localCIDR exhausted", func(u *evpnv1.Underlay, l *evpnv1.L3VNI, n *testNode) {
			n.Index = 253
		}, nil, "L3VNI red: localCIDR 192.169.10.0/24 has no address for node node1: its index 253 needs host 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, l, n := seedUnderlay(), seedL3VNI(), testNode{}
			if tt.edit != nil {
				tt.edit(u, &l, &n)
			}
			s, err := desired(u, []evpnv1.L3VNI{l}, n.Index, n.NodeFacts)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want one with %q", err, tt.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
			if _, err := frrtemplates.Render(s.FRR); err != nil {
				t.Errorf("the desired FRR config does not render: %v", err)
			}
		})
	}
}

func TestDesiredWithoutUnderlay(t *testing.T) {
	if _, err := desired(nil, []evpnv1.L3VNI{seedL3VNI()}, 0, NodeFacts{}); err == nil || !strings.Contains(err.Error(), "no accepted Underlay selects node node1") {
		t.Errorf("L3VNIs without an Underlay: %v", err)
	}
	s, err := desired(nil, nil, 0, NodeFacts{})
	if err != nil || len(s.L3VNIs) != 0 || s.Underlay.Name != "" {
		t.Errorf("a node nothing selects needs nothing: %+v, %v", s, err)
	}
}

// testNode is a node's index and facts, for table edits.
type testNode struct {
	Index int
	NodeFacts
}

// TestSeedLabRendersTheGoldenConfig ties the pure pipeline to the golden file that
// FRR's parser checks: the seed lab's objects on node index 0 give exactly it.
func TestSeedLabRendersTheGoldenConfig(t *testing.T) {
	s, err := desired(seedUnderlay(), []evpnv1.L3VNI{seedL3VNI()}, 0, NodeFacts{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := frrtemplates.Render(s.FRR)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../frrtemplates/testdata/seed_lab.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("seed lab renders\n%s\nwant\n%s", got, want)
	}
}

func equalL3VNI(a, b L3VNIState) bool {
	if len(a.RouterLegAddrs) != len(b.RouterLegAddrs) || len(a.HostLegAddrs) != len(b.HostLegAddrs) {
		return false
	}
	for i := range a.RouterLegAddrs {
		if a.RouterLegAddrs[i] != b.RouterLegAddrs[i] || a.HostLegAddrs[i] != b.HostLegAddrs[i] {
			return false
		}
	}
	a.RouterLegAddrs, a.HostLegAddrs, b.RouterLegAddrs, b.HostLegAddrs = nil, nil, nil, nil
	return a.Name == b.Name && a.Generation == b.Generation && a.VNI == b.VNI && a.VRF == b.VRF && a.Table == b.Table &&
		a.Bridge == b.Bridge && a.VXLAN == b.VXLAN && a.RouterLeg == b.RouterLeg && a.HostLeg == b.HostLeg &&
		a.MTU == b.MTU && a.RouterASN == b.RouterASN && a.HostASN == b.HostASN
}
