package placement

import (
	"net/netip"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

func TestAcceptL3VNIs(t *testing.T) {
	fabric := publishedUnderlay(underlay("fabric", 0, "g", "100.65.0.0/24"))
	withHostASN := func(l evpnv1.L3VNI, asn int64) evpnv1.L3VNI { l.Spec.HostSession.HostASN = asn; return l }
	withVNI := func(l evpnv1.L3VNI, vni int32) evpnv1.L3VNI { l.Spec.VNI = vni; return l }
	deleting := func(l evpnv1.L3VNI) evpnv1.L3VNI { now := t0; l.DeletionTimestamp = &now; return l }
	tests := []struct {
		name      string
		underlays []evpnv1.Underlay
		l3vnis    []evpnv1.L3VNI
		want      map[string]string // L3VNI name -> Accepted reason
		wantMsg   map[string]string // L3VNI name -> message substring
		// wantRuns: L3VNI name -> the generation nodes run after the verdict (0: none)
		wantRuns map[string]int64
	}{
		{
			name:   "seed lab",
			l3vnis: []evpnv1.L3VNI{l3vni("red", 0, 100, "192.169.10.0/24")},
			want:   map[string]string{"red": ReasonAccepted}, wantRuns: map[string]int64{"red": 1},
		},
		{
			name:   "the younger of two duplicate VNIs is rejected",
			l3vnis: []evpnv1.L3VNI{l3vni("young", 10, 100, "10.1.0.0/24"), l3vni("old", 0, 100, "192.169.10.0/24")},
			want:   map[string]string{"old": ReasonAccepted, "young": ReasonDuplicateVNI},
		},
		{
			name:   "same age: the name breaks the tie",
			l3vnis: []evpnv1.L3VNI{l3vni("b", 0, 100, "10.1.0.0/24"), l3vni("a", 0, 100, "192.169.10.0/24")},
			want:   map[string]string{"a": ReasonAccepted, "b": ReasonDuplicateVNI},
		},
		{
			name: "an object nodes run keeps priority over an older newcomer",
			l3vnis: []evpnv1.L3VNI{
				l3vni("old", 0, 100, "192.169.10.0/24"),
				publishedL3VNI(l3vni("young", 10, 100, "10.1.0.0/24")),
			},
			want: map[string]string{"young": ReasonAccepted, "old": ReasonDuplicateVNI},
		},
		{
			name: "a rejected update keeps its VNI claimed: a newcomer cannot take what nodes run",
			l3vnis: []evpnv1.L3VNI{
				withVNI(updated(publishedL3VNI(l3vni("red", 0, 100, "192.169.10.0/24"))), 300), // runs 100, wants 300
				publishedL3VNI(l3vni("blue", 1, 300, "10.3.0.0/24")),                           // runs 300
				l3vni("green", 2, 100, "10.4.0.0/24"),                                          // wants 100, which red runs
			},
			want:     map[string]string{"red": ReasonDuplicateVNI, "blue": ReasonAccepted, "green": ReasonDuplicateVNI},
			wantMsg:  map[string]string{"green": "VNI 100 is already used by L3VNI red"},
			wantRuns: map[string]int64{"red": 1, "blue": 1, "green": 0},
		},
		{
			name:   "an accepted update frees its old VNI in the same pass",
			l3vnis: []evpnv1.L3VNI{withVNI(updated(publishedL3VNI(l3vni("red", 0, 100, "192.169.10.0/24"))), 300), l3vni("green", 2, 100, "10.4.0.0/24")},
			want:   map[string]string{"red": ReasonAccepted, "green": ReasonAccepted}, wantRuns: map[string]int64{"red": 2, "green": 1},
		},
		{
			name:    "overlapping IPv4 localCIDRs",
			l3vnis:  []evpnv1.L3VNI{l3vni("red", 0, 100, "10.0.0.0/16"), l3vni("green", 1, 200, "10.0.3.0/24")},
			want:    map[string]string{"red": ReasonAccepted, "green": ReasonOverlappingLocalCIDR},
			wantMsg: map[string]string{"green": "localCIDR 10.0.3.0/24 overlaps 10.0.0.0/16 of L3VNI red"},
		},
		{
			name:   "different hostASN",
			l3vnis: []evpnv1.L3VNI{l3vni("red", 0, 100, "192.169.10.0/24"), withHostASN(l3vni("green", 1, 200, "10.1.0.0/24"), 65001)},
			want:   map[string]string{"red": ReasonAccepted, "green": ReasonHostASNMismatch},
		},
		{
			name:    "several problems are all reported",
			l3vnis:  []evpnv1.L3VNI{l3vni("red", 0, 100, "192.169.10.0/24"), withHostASN(l3vni("green", 1, 100, "192.169.10.0/24"), 1)},
			want:    map[string]string{"red": ReasonAccepted, "green": ReasonDuplicateVNI},
			wantMsg: map[string]string{"green": "overlaps"},
		},
		{
			name:     "a deleted L3VNI runs nowhere and frees its VNI",
			l3vnis:   []evpnv1.L3VNI{deleting(publishedL3VNI(l3vni("red", 0, 100, "192.169.10.0/24"))), l3vni("green", 1, 100, "10.4.0.0/24")},
			want:     map[string]string{"red": ReasonAccepted, "green": ReasonAccepted},
			wantRuns: map[string]int64{"red": 0, "green": 1},
		},
		{
			name:    "a VRF named like a NIC of an Underlay: both live in the router's netns",
			l3vnis:  []evpnv1.L3VNI{func() evpnv1.L3VNI { l := l3vni("red", 0, 100, "192.169.10.0/24"); l.Spec.VRF = "eth1"; return l }()},
			want:    map[string]string{"red": ReasonNameTaken},
			wantMsg: map[string]string{"red": `VRF "eth1" has the name of a NIC of Underlay fabric`},
		},
		{
			name:      "no Underlay to take the router ASN from",
			underlays: []evpnv1.Underlay{},
			l3vnis:    []evpnv1.L3VNI{l3vni("red", 0, 100, "192.169.10.0/24")},
			want:      map[string]string{"red": ReasonNoUnderlay},
		},
		{
			name: "Underlays with different ASNs: a new L3VNI must say hostSession.asn",
			underlays: []evpnv1.Underlay{fabric, func() evpnv1.Underlay {
				u := publishedUnderlay(underlay("other", 1, "h", "100.66.0.0/24"))
				u.Spec.ASN, u.Status.Accepted.Spec.ASN = 65100, 65100
				return u
			}()},
			l3vnis:  []evpnv1.L3VNI{l3vni("red", 0, 100, "192.169.10.0/24"), publishedL3VNI(l3vni("runs", 0, 200, "10.9.0.0/24"))},
			want:    map[string]string{"red": ReasonAmbiguousRouterASN, "runs": ReasonAccepted},
			wantMsg: map[string]string{"red": "64512, 65100"},
		},
		{
			name: "an frrK8s.nodeSelector the API server lets through but no selector can be made of",
			l3vnis: []evpnv1.L3VNI{func() evpnv1.L3VNI {
				l := l3vni("red", 0, 100, "192.169.10.0/24")
				l.Spec.FRRK8s.NodeSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "speaker", Operator: "Is"}}}
				return l
			}()},
			want:    map[string]string{"red": ReasonInvalidSpec},
			wantMsg: map[string]string{"red": `frrK8s.nodeSelector: "Is" is not a valid label selector operator`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			underlays := tt.underlays
			if underlays == nil {
				underlays = []evpnv1.Underlay{fabric}
			}
			v := Accept(underlays, tt.l3vnis, Cluster{FRRK8sNamespace: "frr-k8s-system"})
			if len(v.L3VNIs) != len(tt.l3vnis) {
				t.Fatalf("%d verdicts for %d L3VNIs", len(v.L3VNIs), len(tt.l3vnis))
			}
			for _, lv := range v.L3VNIs {
				name := lv.L3VNI.Name
				if got := reasonOrAccepted(lv.Problems); got != tt.want[name] {
					t.Errorf("%s: %s (%q), want %s", name, got, lv.Problems.Message(), tt.want[name])
				}
				if want := tt.wantMsg[name]; want != "" && !strings.Contains(lv.Problems.Message(), want) {
					t.Errorf("%s: message %q lacks %q", name, lv.Problems.Message(), want)
				}
				if want, ok := tt.wantRuns[name]; ok {
					got := int64(0)
					if lv.Accepted != nil {
						got = lv.Accepted.Generation
					}
					if got != want {
						t.Errorf("%s: nodes run generation %d, want %d", name, got, want)
					}
				}
			}
		})
	}
}

func reasonOrAccepted(ps Problems) string {
	if len(ps) == 0 {
		return ReasonAccepted
	}
	return ps.Reason()
}

func TestAcceptUnderlays(t *testing.T) {
	withSecret := func(u evpnv1.Underlay, name string) evpnv1.Underlay {
		u.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: name}
		return u
	}
	withRID := func(u evpnv1.Underlay, cidr string) evpnv1.Underlay { u.Spec.RouterIDCIDR = cidr; return u }
	tests := []struct {
		name      string
		underlays []evpnv1.Underlay
		want      map[string]string
		wantMsg   map[string]string
	}{
		{"disjoint VTEP ranges", []evpnv1.Underlay{underlay("a", 0, "1", "100.65.0.0/24"), underlay("b", 1, "2", "100.66.0.0/24")},
			map[string]string{"a": ReasonAccepted, "b": ReasonAccepted}, nil},
		{"the same VTEP range is safe: indexes are unique", []evpnv1.Underlay{underlay("a", 0, "1", "100.65.0.0/24"), underlay("b", 1, "2", "100.65.0.0/24")},
			map[string]string{"a": ReasonAccepted, "b": ReasonAccepted}, nil},
		{"a VTEP range inside another hands one address to two nodes", []evpnv1.Underlay{underlay("a", 0, "1", "100.65.0.0/24"), underlay("b", 1, "2", "100.65.0.128/25")},
			map[string]string{"a": ReasonAccepted, "b": ReasonOverlappingCIDR}, map[string]string{"b": "vtepCIDR 100.65.0.128/25 overlaps 100.65.0.0/24 of Underlay a"}},
		{"router ID ranges too", []evpnv1.Underlay{withRID(underlay("a", 0, "1", "100.65.0.0/24"), "10.0.0.0/16"), withRID(underlay("b", 1, "2", "100.66.0.0/24"), "10.0.1.0/24")},
			map[string]string{"a": ReasonAccepted, "b": ReasonOverlappingCIDR}, map[string]string{"b": "routerIDCIDR"}},
		{"the Underlay nodes run keeps its range against an older newcomer", []evpnv1.Underlay{underlay("old", 0, "1", "100.65.0.0/24"), publishedUnderlay(underlay("young", 5, "2", "100.65.0.0/25"))},
			map[string]string{"old": ReasonOverlappingCIDR, "young": ReasonAccepted}, nil},
		{"a new generation names a password Secret that does not exist", []evpnv1.Underlay{withSecret(underlay("a", 0, "1", "100.65.0.0/24"), "nope")},
			map[string]string{"a": ReasonSecretMissing}, map[string]string{"a": `password Secret "nope" does not exist`}},
		{"an existing one is fine", []evpnv1.Underlay{withSecret(underlay("a", 0, "1", "100.65.0.0/24"), "leaf")},
			map[string]string{"a": ReasonAccepted}, nil},
		{"an accepted version whose Secret went stays accepted: its nodes report it", []evpnv1.Underlay{publishedUnderlay(withSecret(underlay("a", 0, "1", "100.65.0.0/24"), "gone"))},
			map[string]string{"a": ReasonAccepted}, nil},
		{"selectors that overlap are not an object's problem: nodes decide", []evpnv1.Underlay{underlay("a", 0, "1", "100.65.0.0/24"), func() evpnv1.Underlay {
			u := underlay("b", 1, "", "100.66.0.0/24")
			u.Spec.NodeSelector = nil
			return u
		}()}, map[string]string{"a": ReasonAccepted, "b": ReasonAccepted}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, uv := range Accept(tt.underlays, nil, Cluster{Secrets: map[string]bool{"leaf": true}, FRRK8sNamespace: "x"}).Underlays {
				name := uv.Underlay.Name
				if got := reasonOrAccepted(uv.Problems); got != tt.want[name] {
					t.Errorf("%s: %s (%q), want %s", name, got, uv.Problems.Message(), tt.want[name])
				}
				if want := tt.wantMsg[name]; want != "" && !strings.Contains(uv.Problems.Message(), want) {
					t.Errorf("%s: message %q lacks %q", name, uv.Problems.Message(), want)
				}
			}
		})
	}
}

func TestRouterASNFollowsTheUnderlay(t *testing.T) {
	u := publishedUnderlay(underlay("fabric", 0, "g", "100.65.0.0/24"))
	l := publishedL3VNI(l3vni("red", 0, 100, "192.169.10.0/24"))
	u = updated(u)
	u.Spec.ASN = 65000
	v := Accept([]evpnv1.Underlay{u}, []evpnv1.L3VNI{l}, Cluster{FRRK8sNamespace: "x"})
	if got := v.L3VNIs[0].Accepted.RouterASN; got != 65000 {
		t.Errorf("router ASN %d after the only Underlay moved to 65000", got)
	}
	asn := int64(4200000000)
	l.Spec.HostSession.ASN = &asn
	v = Accept([]evpnv1.Underlay{u}, []evpnv1.L3VNI{l}, Cluster{FRRK8sNamespace: "x"})
	if got := v.L3VNIs[0].Accepted.RouterASN; got != asn {
		t.Errorf("hostSession.asn is %d, router ASN %d", asn, got)
	}
}

func TestNICCannotTakeARunningVRFsName(t *testing.T) {
	red := publishedL3VNI(l3vni("red", 0, 100, "192.169.10.0/24"))
	u := underlay("fabric", 1, "g", "100.65.0.0/24")
	u.Spec.NICs = []evpnv1.InterfaceName{"red"}
	v := Accept([]evpnv1.Underlay{u}, []evpnv1.L3VNI{red}, Cluster{FRRK8sNamespace: "x"})
	if got := v.Underlays[0].Problems; got.Reason() != ReasonNameTaken || !strings.Contains(got.Message(), "NIC red has the name of L3VNI red's VRF") {
		t.Errorf("problems %q", got.Message())
	}
}

// TestClusterNetworksRefuseNewGenerationsOnly: a localCIDR over a cluster range
// is refused; a version already accepted stays accepted when such a range
// appears later (a new ServiceCIDR): nodes keep what they run.
func TestClusterNetworksRefuseNewGenerationsOnly(t *testing.T) {
	u := publishedUnderlay(underlay("fabric", 0, "g", "100.65.0.0/24"))
	services := Cluster{FRRK8sNamespace: "x", Networks: []Network{{Prefix: netip.MustParsePrefix("192.169.0.0/16"), Of: "ServiceCIDR extra"}}}
	tests := []struct {
		name   string
		l3vni  evpnv1.L3VNI
		reason string
	}{
		{"a new L3VNI over a service range", l3vni("red", 0, 100, "192.169.10.0/24"), ReasonClusterNetwork},
		{"a new generation over a service range", updated(publishedL3VNI(l3vni("red", 0, 100, "192.169.10.0/24"))), ReasonClusterNetwork},
		{"the accepted generation when the range came later", publishedL3VNI(l3vni("red", 0, 100, "192.169.10.0/24")), ""},
		{"a new L3VNI beside the range", l3vni("blue", 0, 300, "192.170.10.0/24"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Accept([]evpnv1.Underlay{u}, []evpnv1.L3VNI{tt.l3vni}, services).L3VNIs[0]
			if got := v.Problems.Reason(); (tt.reason == "") != v.OK() || (tt.reason != "" && got != tt.reason) {
				t.Errorf("problems %q (%s), want reason %q", v.Problems.Message(), got, tt.reason)
			}
			if tt.reason != "" && !strings.Contains(v.Problems.Message(), "overlaps the cluster's network 192.169.0.0/16 (ServiceCIDR extra)") {
				t.Errorf("message %q", v.Problems.Message())
			}
		})
	}
}
