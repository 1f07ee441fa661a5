package controllers

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// Pure tests of the decisions: no API server.

var t0 = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

func aged(obj metav1.Object, seconds int) {
	obj.SetCreationTimestamp(metav1.NewTime(t0.Add(time.Duration(seconds) * time.Second)))
	obj.SetGeneration(1)
}

func nodes(n int, labels map[string]string) []NodeFacts {
	var out []NodeFacts
	for i := range n {
		out = append(out, NodeFacts{Name: "node" + string(rune('a'+i)), Labels: labels, Index: i, HasIndex: true})
	}
	return out
}

func TestEvaluateL3VNIs(t *testing.T) {
	g := map[string]string{"group": "g"}
	base := func(name string, age int, vni int32, cidr string) evpnv1.L3VNI {
		l := *l3vni("ns", name, "g", vni, cidr)
		aged(&l, age)
		return l
	}
	accepted := func(l evpnv1.L3VNI) evpnv1.L3VNI {
		meta.SetStatusCondition(&l.Status.Conditions, metav1.Condition{Type: evpnv1.ConditionAccepted, Status: metav1.ConditionTrue, Reason: ReasonAccepted, ObservedGeneration: l.Generation})
		return l
	}
	withASN := func(l evpnv1.L3VNI, asn int64) evpnv1.L3VNI { l.Spec.HostSession.HostASN = asn; return l }
	updated := func(l evpnv1.L3VNI) evpnv1.L3VNI { l.Generation = 2; return l }

	tests := []struct {
		name    string
		l3vnis  []evpnv1.L3VNI
		nodes   []NodeFacts
		want    map[string]string // L3VNI name -> Accepted reason
		wantMsg map[string]string // L3VNI name -> message substring
	}{
		{
			name:   "seed lab",
			l3vnis: []evpnv1.L3VNI{base("red", 0, 100, seedLocalCIDR)},
			nodes:  nodes(2, g),
			want:   map[string]string{"red": ReasonAccepted},
		},
		{
			name:   "the younger of two duplicate VNIs is rejected",
			l3vnis: []evpnv1.L3VNI{base("young", 10, 100, "10.1.0.0/24"), base("old", 0, 100, seedLocalCIDR)},
			nodes:  nodes(1, g),
			want:   map[string]string{"old": ReasonAccepted, "young": ReasonDuplicateVNI},
		},
		{
			name:   "same age: the name breaks the tie",
			l3vnis: []evpnv1.L3VNI{base("b", 0, 100, "10.1.0.0/24"), base("a", 0, 100, seedLocalCIDR)},
			nodes:  nodes(1, g),
			want:   map[string]string{"a": ReasonAccepted, "b": ReasonDuplicateVNI},
		},
		{
			name: "an accepted object keeps priority over an older one that changed",
			l3vnis: []evpnv1.L3VNI{
				updated(accepted(base("old", 0, 100, seedLocalCIDR))), // accepted at generation 1, now at 2
				accepted(base("young", 10, 100, "10.1.0.0/24")),
			},
			nodes: nodes(1, g),
			want:  map[string]string{"young": ReasonAccepted, "old": ReasonDuplicateVNI},
		},
		{
			name:    "overlapping IPv4 localCIDRs",
			l3vnis:  []evpnv1.L3VNI{base("red", 0, 100, "10.0.0.0/16"), base("green", 1, 200, "10.0.3.0/24")},
			nodes:   nodes(1, g),
			want:    map[string]string{"red": ReasonAccepted, "green": ReasonOverlappingLocalCIDR},
			wantMsg: map[string]string{"green": "localCIDR 10.0.3.0/24 overlaps 10.0.0.0/16 of L3VNI red"},
		},
		{
			name:   "different hostASN",
			l3vnis: []evpnv1.L3VNI{base("red", 0, 100, seedLocalCIDR), withASN(base("green", 1, 200, "10.1.0.0/24"), 65001)},
			nodes:  nodes(1, g),
			want:   map[string]string{"red": ReasonAccepted, "green": ReasonHostASNMismatch},
		},
		{
			name:    "localCIDR exhausted by the highest index",
			l3vnis:  []evpnv1.L3VNI{base("red", 0, 100, "10.1.0.0/29")},
			nodes:   nodes(6, g), // indexes 0..5: index 5 needs host 7, the broadcast of a /29
			want:    map[string]string{"red": ReasonCIDRTooSmall},
			wantMsg: map[string]string{"red": "node nodef has index 5 and needs host 7, but the last host is 6"},
		},
		{
			name:    "several problems are all reported",
			l3vnis:  []evpnv1.L3VNI{base("red", 0, 100, seedLocalCIDR), withASN(base("green", 1, 100, seedLocalCIDR), 1)},
			nodes:   nodes(1, g),
			want:    map[string]string{"red": ReasonAccepted, "green": ReasonDuplicateVNI},
			wantMsg: map[string]string{"green": "overlaps"},
		},
		{
			name:    "node without Underlay",
			l3vnis:  []evpnv1.L3VNI{base("red", 0, 100, seedLocalCIDR)},
			nodes:   append(nodes(1, g), NodeFacts{Name: "lonely", Labels: map[string]string{"group": "g", "no-underlay": "true"}}),
			want:    map[string]string{"red": ReasonNodeWithoutUnderlay},
			wantMsg: map[string]string{"red": "lonely"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := *underlay("ns", "fabric", "g")
			u.Spec.NodeSelector = &metav1.LabelSelector{
				MatchLabels:      map[string]string{"group": "g"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "no-underlay", Operator: metav1.LabelSelectorOpDoesNotExist}},
			}
			aged(&u, 0)
			w := &World{Underlays: []evpnv1.Underlay{u}, L3VNIs: tt.l3vnis, Nodes: tt.nodes, FRRK8sNamespace: "frr-k8s-system"}
			plan := Evaluate(w, t0)
			if len(plan.L3VNIs) != len(tt.want) {
				t.Fatalf("%d L3VNI decisions, want %d", len(plan.L3VNIs), len(tt.want))
			}
			for _, p := range plan.L3VNIs {
				c := meta.FindStatusCondition(p.Status.Conditions, evpnv1.ConditionAccepted)
				if c.Reason != tt.want[p.L3VNI.Name] {
					t.Errorf("%s: Accepted reason %s (%q), want %s", p.L3VNI.Name, c.Reason, c.Message, tt.want[p.L3VNI.Name])
				}
				if (p.Desired != nil) != (c.Reason == ReasonAccepted) {
					t.Errorf("%s: accepted=%v but desired FRRConfiguration=%v", p.L3VNI.Name, c.Reason == ReasonAccepted, p.Desired != nil)
				}
				if want := tt.wantMsg[p.L3VNI.Name]; want != "" && !strings.Contains(c.Message, want) {
					t.Errorf("%s: message %q lacks %q", p.L3VNI.Name, c.Message, want)
				}
			}
		})
	}
}

func TestEvaluateUnderlays(t *testing.T) {
	mk := func(name string, age int, sel map[string]string, vtep string) evpnv1.Underlay {
		u := *underlay("ns", name, "")
		u.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: sel}
		u.Spec.VTEPCIDR = vtep
		aged(&u, age)
		return u
	}
	tests := []struct {
		name      string
		underlays []evpnv1.Underlay
		nodes     []NodeFacts
		want      map[string]string
	}{
		{"disjoint selectors", []evpnv1.Underlay{mk("a", 0, map[string]string{"rack": "1"}, "100.65.0.0/24"), mk("b", 1, map[string]string{"rack": "2"}, "100.66.0.0/24")},
			append(nodes(1, map[string]string{"rack": "1"}), NodeFacts{Name: "z", Labels: map[string]string{"rack": "2"}, Index: 1, HasIndex: true}),
			map[string]string{"a": ReasonAccepted, "b": ReasonAccepted}},
		{"both select one node: the younger is rejected", []evpnv1.Underlay{mk("young", 5, nil, "100.66.0.0/24"), mk("old", 0, map[string]string{"rack": "1"}, "100.65.0.0/24")},
			nodes(1, map[string]string{"rack": "1"}),
			map[string]string{"old": ReasonAccepted, "young": ReasonNodeSelectedTwice}},
		{"vtepCIDR too small", []evpnv1.Underlay{mk("a", 0, nil, "100.65.0.0/30")},
			nodes(3, nil), // index 2 needs host 3, the broadcast of a /30
			map[string]string{"a": ReasonCIDRTooSmall}},
		{"nodes without index do not count against the CIDR", []evpnv1.Underlay{mk("a", 0, nil, "100.65.0.0/30")},
			append(nodes(2, nil), NodeFacts{Name: "new"}),
			map[string]string{"a": ReasonAccepted}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Evaluate(&World{Underlays: tt.underlays, Nodes: tt.nodes}, t0)
			for _, p := range plan.Underlays {
				c := meta.FindStatusCondition(p.Status.Conditions, evpnv1.ConditionAccepted)
				if c.Reason != tt.want[p.Underlay.Name] {
					t.Errorf("%s: Accepted reason %s (%q), want %s", p.Underlay.Name, c.Reason, c.Message, tt.want[p.Underlay.Name])
				}
			}
		})
	}
}

func TestEvaluateIsStable(t *testing.T) {
	// Feeding a plan's status back must give the same status: that is what makes a
	// reconcile with nothing changed write nothing.
	l := *l3vni("ns", "red", "g", 100, seedLocalCIDR)
	aged(&l, 0)
	u := *underlay("ns", "fabric", "g")
	aged(&u, 0)
	w := &World{Underlays: []evpnv1.Underlay{u}, L3VNIs: []evpnv1.L3VNI{l}, Nodes: nodes(3, map[string]string{"group": "g"})}
	first := Evaluate(w, t0)
	w.L3VNIs[0].Status = first.L3VNIs[0].Status
	w.Underlays[0].Status = first.Underlays[0].Status
	second := Evaluate(w, metav1.NewTime(t0.Add(time.Hour)))
	if !equalStatus(first.L3VNIs[0].Status, second.L3VNIs[0].Status) {
		t.Errorf("status changed on re-evaluation:\n%+v\n%+v", first.L3VNIs[0].Status, second.L3VNIs[0].Status)
	}
}

func equalStatus(a, b evpnv1.L3VNIStatus) bool {
	if a.Ready != b.Ready || a.VRF != b.VRF || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		if a.Conditions[i] != b.Conditions[i] {
			return false
		}
	}
	return true
}

func TestIndexAllocator(t *testing.T) {
	existing := func(name string, age int, idx string) metav1.PartialObjectMetadata {
		n := metav1.PartialObjectMetadata{}
		n.Name = name
		n.CreationTimestamp = metav1.NewTime(t0.Add(time.Duration(age) * time.Second))
		if idx != "" {
			n.Annotations = map[string]string{evpnv1.NodeIndexAnnotation: idx}
		}
		return n
	}
	a := newIndexAllocator()
	a.load([]metav1.PartialObjectMetadata{
		existing("a", 0, "0"), existing("b", 1, "2"),
		existing("dup", 5, "2"), // an edited annotation: b is older and keeps 2
		existing("junk", 6, "-1"),
	})
	steps := []struct {
		node      string
		ann       string
		wantIdx   int
		wantWrite bool
	}{
		{"a", "0", 0, false},
		{"b", "2", 2, false},
		{"dup", "2", 1, true},   // lowest free
		{"junk", "-1", 3, true}, // not a valid index
		{"new", "", 4, true},
		{"new", "4", 4, false}, // idempotent once written
	}
	for _, s := range steps {
		ann := map[string]string{}
		if s.ann != "" {
			ann[evpnv1.NodeIndexAnnotation] = s.ann
		}
		idx, write := a.indexFor(s.node, ann)
		if idx != s.wantIdx || write != s.wantWrite {
			t.Errorf("indexFor(%s, %q) = %d, %v; want %d, %v", s.node, s.ann, idx, write, s.wantIdx, s.wantWrite)
		}
	}
	a.release("dup")
	if idx, _ := a.indexFor("later", nil); idx != 1 {
		t.Errorf("after releasing index 1 a new node got %d, want 1", idx)
	}
}

func TestFRRConfigurationName(t *testing.T) {
	if got := FRRConfigurationName("frr-k8s-evpn-system", "red"); got != "evpn-frr-k8s-evpn-system-red" {
		t.Errorf("name = %s", got)
	}
	long := FRRConfigurationName("ns", strings.Repeat("x", 253))
	if len(long) != 253 || long == FRRConfigurationName("ns", strings.Repeat("x", 252)+"y") {
		t.Errorf("a long name must be shortened to 253 characters and stay unique: %d %s", len(long), long)
	}
}
