package controllers

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// Pure tests of the decisions: no API server.

var t0 = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

func aged(obj metav1.Object, seconds int) {
	obj.SetCreationTimestamp(metav1.NewTime(t0.Add(time.Duration(seconds) * time.Second)))
	obj.SetGeneration(1)
}

func nodes(n int, labels map[string]string) []placement.Node {
	var out []placement.Node
	for i := range n {
		out = append(out, placement.Node{Name: fmt.Sprintf("node%02d", i), Labels: labels, Index: i, HasIndex: true})
	}
	return out
}

// runs is the RouterNodeStatus of a node that runs these generations.
func runs(node, underlay string, ugen int64, l3vnis map[string]int64) *evpnv1.RouterNodeStatus {
	rs := &evpnv1.RouterNodeStatus{}
	rs.Status.Underlay = &evpnv1.UnderlayNodeState{Name: underlay, ObservedGeneration: ugen, Ready: true}
	for name, gen := range l3vnis {
		rs.Status.L3VNIs = append(rs.Status.L3VNIs, evpnv1.L3VNINodeState{Name: name, ObservedGeneration: gen, Ready: true})
	}
	return rs
}

// TestNodeProblemsStayOnTheNode: what concerns one node fails that node and is
// counted and named on the object, which stays accepted.
func TestNodeProblemsStayOnTheNode(t *testing.T) {
	g := map[string]string{"group": "g"}
	u := *underlay("ns", "fabric", "g")
	u.Spec.VTEPCIDR = "100.65.0.0/28" // hosts 1..14: indexes 0..13
	aged(&u, 0)
	l := *l3vni("ns", "red", "g", seedVNI, seedLocalCIDR)
	aged(&l, 0)
	all := nodes(15, g) // index 14 does not fit
	statuses := map[string]*evpnv1.RouterNodeStatus{}
	for _, n := range all[:14] {
		statuses[n.Name] = runs(n.Name, "fabric", 1, map[string]int64{"red": 1})
	}
	lonely := placement.Node{Name: "lonely", Labels: map[string]string{"group": "g", "no-underlay": "x"}, Index: 20, HasIndex: true}
	u.Spec.NodeSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "no-underlay", Operator: metav1.LabelSelectorOpDoesNotExist}}
	w := &World{Underlays: []evpnv1.Underlay{u}, L3VNIs: []evpnv1.L3VNI{l}, Nodes: append(all, lonely), RouterStatuses: statuses, FRRK8sNamespace: "frr"}
	plan := Evaluate(w, t0)

	us := plan.Underlays[0].Status
	if err := conditionIs(us.Conditions, 1, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
		t.Error(err)
	}
	if us.Ready != "14/15" || us.FailedNodes != 1 || us.Accepted == nil {
		t.Errorf("Underlay status %+v", us)
	}
	c := meta.FindStatusCondition(us.Conditions, evpnv1.ConditionReady)
	if c.Reason != ReasonNodeFailed || !strings.Contains(c.Message, "node14: Underlay fabric: vtepCIDR 100.65.0.0/28 has no address for node node14") {
		t.Errorf("Underlay Ready: %s %q", c.Reason, c.Message)
	}
	ls := plan.L3VNIs[0].Status
	if err := conditionIs(ls.Conditions, 1, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
		t.Error(err)
	}
	if ls.Ready != "14/16" || ls.FailedNodes != 2 || plan.L3VNIs[0].Desired == nil {
		t.Errorf("L3VNI status %+v", ls)
	}
	c = meta.FindStatusCondition(ls.Conditions, evpnv1.ConditionReady)
	if c.Reason != ReasonNodeFailed || !strings.Contains(c.Message, "lonely: no accepted Underlay selects node lonely") || !strings.Contains(c.Message, "node14: node node14 cannot run Underlay fabric") {
		t.Errorf("L3VNI Ready: %s %q", c.Reason, c.Message)
	}
}

// TestSecondUnderlayOnANode: labelling a node so that a second Underlay also
// selects it fails the newcomer on that node only; the node keeps what it runs.
func TestSecondUnderlayOnANode(t *testing.T) {
	a := *underlay("ns", "a", "a")
	aged(&a, 10) // younger: the node keeps it only because it runs it
	b := *underlay("ns", "b", "b")
	b.Spec.VTEPCIDR = "100.66.0.0/24"
	aged(&b, 0)
	x := placement.Node{Name: "x", Labels: map[string]string{"group": "a"}, Index: 0, HasIndex: true}
	y := placement.Node{Name: "y", Labels: map[string]string{"group": "b"}, Index: 1, HasIndex: true}
	w := &World{Underlays: []evpnv1.Underlay{a, b}, Nodes: []placement.Node{x, y},
		RouterStatuses: map[string]*evpnv1.RouterNodeStatus{"x": runs("x", "a", 1, nil), "y": runs("y", "b", 1, nil)}}
	first := Evaluate(w, t0)
	for _, p := range first.Underlays {
		p.Underlay.Status = p.Status
	}
	w.Nodes[0].Labels = map[string]string{"group": "a", "x": "1"}
	w.Underlays[1].Spec.NodeSelector = nil // b now selects every node: x too
	w.Underlays[1].Generation = 2
	second := Evaluate(w, t0)
	if second.Nodes[0].Underlay.Name != "a" {
		t.Fatalf("node x moved to %s", second.Nodes[0].Underlay.Name)
	}
	for _, p := range second.Underlays {
		if err := conditionIs(p.Status.Conditions, p.Underlay.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
			t.Errorf("%s: %v", p.Underlay.Name, err)
		}
	}
	for _, p := range second.Underlays {
		if p.Underlay.Name != "b" {
			continue
		}
		c := meta.FindStatusCondition(p.Status.Conditions, evpnv1.ConditionReady)
		if p.Status.FailedNodes != 1 || p.Status.Ready != "0/2" || !strings.Contains(c.Message, "x: node x is also selected by Underlay a, which it runs") {
			t.Errorf("b's Ready: %+v %q", p.Status, c.Message)
		}
	}
}

// TestRejectedUpdatePublishesTheLastAccepted: status.accepted keeps the version
// nodes run while a newer generation is rejected.
func TestRejectedUpdatePublishesTheLastAccepted(t *testing.T) {
	u := *underlay("ns", "fabric", "g")
	aged(&u, 0)
	red := *l3vni("ns", "red", "g", seedVNI, seedLocalCIDR)
	aged(&red, 0)
	blue := *l3vni("ns", "blue", "g", 200, "10.2.0.0/24")
	aged(&blue, 1)
	w := &World{Underlays: []evpnv1.Underlay{u}, L3VNIs: []evpnv1.L3VNI{red, blue}, Nodes: nodes(2, map[string]string{"group": "g"}), FRRK8sNamespace: "frr"}
	first := Evaluate(w, t0)
	for i := range first.L3VNIs {
		first.L3VNIs[i].L3VNI.Status = first.L3VNIs[i].Status
	}
	w.Underlays[0].Status = first.Underlays[0].Status
	w.L3VNIs[0].Generation, w.L3VNIs[0].Spec.VNI = 2, 200 // blue's VNI
	second := Evaluate(w, t0)
	p := second.L3VNIs[0]
	if p.L3VNI.Name != "red" || p.Accepted || p.Status.Accepted == nil || p.Status.Accepted.Generation != 1 || p.Status.Accepted.Spec.VNI != seedVNI {
		t.Fatalf("red: accepted=%v, published %+v", p.Accepted, p.Status.Accepted)
	}
	if p.Desired == nil || p.Desired.Annotations[GenerationAnnotation] != "1" {
		t.Errorf("the FRRConfiguration must stay the one of generation 1: %+v", p.Desired)
	}
	if err := conditionIs(p.Status.Conditions, 2, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionFalse, ReasonKeptLastGood); err != nil {
		t.Error(err)
	}
}

// TestWriteFailureKeepsTheTransitionTime: a write that keeps failing must not
// make a status write per retry.
func TestWriteFailureKeepsTheTransitionTime(t *testing.T) {
	stored := []metav1.Condition{{Type: evpnv1.ConditionFRRConfigurationReady, Status: metav1.ConditionFalse, Reason: ReasonWriteFailed,
		Message: "boom", ObservedGeneration: 1, LastTransitionTime: t0}}
	planned := []metav1.Condition{{Type: evpnv1.ConditionFRRConfigurationReady, Status: metav1.ConditionTrue, Reason: ReasonWritten,
		ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(t0.Add(time.Hour))}}
	writeFailed(&planned, stored, errors.New("boom"), 1, metav1.NewTime(t0.Add(2*time.Hour)))
	if len(planned) != 1 || planned[0] != stored[0] {
		t.Errorf("conditions after a second failure %+v, want the stored %+v", planned, stored)
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
	}, map[string]int{"departed": 5, "a": 0}) // a departed node's router still reports index 5
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
		{"new", "4", 4, false},    // idempotent once written
		{"newer", "5", 6, true},   // 5 stays reserved for the departed node's router
		{"departed", "", 5, true}, // which gets it back when it returns
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
	a.depart("dup", -1, true) // its router may still run
	if idx, _ := a.indexFor("later", nil); idx != 7 {
		t.Errorf("a departed node's index was reused while its router may run: got %d, want 7", idx)
	}
	a.depart("dup", -1, false) // its router status is gone
	if idx, _ := a.indexFor("last", nil); idx != 1 {
		t.Errorf("after the router of index 1 is gone a new node got %d, want 1", idx)
	}
	a.depart("nothing-ran", -1, false)
	a.depart("junk", -1, false) // a node whose router never ran frees its index at once
	if idx, _ := a.indexFor("again", nil); idx != 3 {
		t.Errorf("got %d, want 3", idx)
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
