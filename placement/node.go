package placement

import (
	"fmt"
	"math"
	"net/netip"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// Reasons why a node cannot run an accepted object. They fail that node only.
const (
	// ReasonNoNodeIndex: the controller has not given the node its index yet.
	ReasonNoNodeIndex = "NoNodeIndex"
	// ReasonNodeWithoutUnderlay: an L3VNI selects the node but no Underlay does.
	ReasonNodeWithoutUnderlay = "NodeWithoutUnderlay"
	// ReasonUnderlayConflict: several accepted Underlays select the node.
	ReasonUnderlayConflict = "UnderlayConflict"
	// ReasonAddressOutOfRange: the node's index has no address in a CIDR.
	ReasonAddressOutOfRange = "AddressOutOfRange"
	// ReasonUnderlayFailed: the L3VNI waits for the node's Underlay, which fails.
	ReasonUnderlayFailed = "UnderlayFailed"
)

// Underlay is the accepted version of an Underlay, as nodes see it.
type Underlay struct {
	Name    string
	UID     types.UID
	Created metav1.Time
	evpnv1.AcceptedUnderlay
	// Parsed once: the controller places every node with them.
	selector labels.Selector
	fits     indexLimit
}

// L3VNI is the accepted version of an L3VNI, as nodes see it.
type L3VNI struct {
	Name string
	UID  types.UID
	evpnv1.AcceptedL3VNI
	selector labels.Selector
	fits     indexLimit
}

// indexLimit is the highest node index that has its addresses in an object's
// CIDRs; an index above it, or any index when the limit is unknown, is checked
// the slow way, which also says why it does not fit.
type indexLimit struct {
	known bool
	max   int
}

func (l indexLimit) fits(index int) bool { return l.known && index <= l.max }

// limitOf is the highest index whose host (index+offset) every CIDR holds.
func limitOf(cidrs []string, offsets []int) indexLimit {
	lim := indexLimit{known: true, max: math.MaxInt32}
	for i, c := range cidrs {
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return indexLimit{}
		}
		if m := addressing.MaxHost(p); m.IsInt64() && m.Int64()-int64(offsets[i]) < int64(lim.max) {
			lim.max = int(m.Int64()) - offsets[i]
		}
	}
	return lim
}

func underlayLimit(spec *evpnv1.UnderlaySpec) indexLimit {
	return limitOf([]string{spec.VTEPCIDR, RouterIDCIDR(spec)}, []int{addressing.VTEPOffset, addressing.RouterIDOffset})
}

func l3vniLimit(spec *evpnv1.L3VNISpec) indexLimit {
	c := spec.HostSession.LocalCIDR
	return limitOf([]string{c.IPv4, c.IPv6}, []int{addressing.HostLegOffset, addressing.HostLegOffset})
}

// Selector parses a node selector: nil selects every node, an invalid one none.
// Parse once and match many: the controller places every node.
func Selector(sel *metav1.LabelSelector) labels.Selector {
	if sel == nil {
		return labels.Everything()
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return labels.Nothing()
	}
	return s
}

func matches(compiled labels.Selector, sel *metav1.LabelSelector, nodeLabels map[string]string) bool {
	if compiled == nil {
		return Selects(sel, nodeLabels)
	}
	return compiled.Matches(labels.Set(nodeLabels))
}

// EffectiveVRF is spec.vrf, or the L3VNI's name when unset.
func (l *L3VNI) EffectiveVRF() string {
	if l.Spec.VRF != "" {
		return l.Spec.VRF
	}
	return l.Name
}

// Published returns the versions nodes run, as published in the objects' status;
// it is what a plumber reads. L3VNIs being deleted run nowhere.
func Published(underlays []evpnv1.Underlay, l3vnis []evpnv1.L3VNI) ([]Underlay, []L3VNI) {
	var us []Underlay
	for i := range underlays {
		u := &underlays[i]
		if a := LastAccepted(u); a != nil && u.DeletionTimestamp.IsZero() {
			us = append(us, Underlay{Name: u.Name, UID: u.UID, Created: u.CreationTimestamp, AcceptedUnderlay: *a, selector: Selector(a.Spec.NodeSelector), fits: underlayLimit(&a.Spec)})
		}
	}
	var ls []L3VNI
	for i := range l3vnis {
		l := &l3vnis[i]
		if a := LastAcceptedL3VNI(l); a != nil && l.DeletionTimestamp.IsZero() {
			ls = append(ls, L3VNI{Name: l.Name, UID: l.UID, AcceptedL3VNI: *a, selector: Selector(a.Spec.NodeSelector), fits: l3vniLimit(&a.Spec)})
		}
	}
	return us, ls
}

// Published returns the versions nodes run after these verdicts: what the
// controller publishes, so that it and the plumbers place nodes from the same input.
func (v Verdicts) Published() ([]Underlay, []L3VNI) {
	var us []Underlay
	for _, uv := range v.Underlays {
		if uv.Accepted != nil {
			u := uv.Underlay
			us = append(us, Underlay{Name: u.Name, UID: u.UID, Created: u.CreationTimestamp, AcceptedUnderlay: *uv.Accepted, selector: Selector(uv.Accepted.Spec.NodeSelector), fits: underlayLimit(&uv.Accepted.Spec)})
		}
	}
	var ls []L3VNI
	for _, lv := range v.L3VNIs {
		if lv.Accepted != nil {
			ls = append(ls, L3VNI{Name: lv.L3VNI.Name, UID: lv.L3VNI.UID, AcceptedL3VNI: *lv.Accepted, selector: Selector(lv.Accepted.Spec.NodeSelector), fits: l3vniLimit(&lv.Accepted.Spec)})
		}
	}
	return us, ls
}

// Node is what placement needs to know of a node.
type Node struct {
	Name   string
	Labels map[string]string
	// Index is the node index; HasIndex is false until the controller assigned one.
	Index    int
	HasIndex bool
	// RunningUnderlay is the Underlay the node's router runs (its RouterNodeStatus
	// says so): when several select the node, it keeps that one.
	RunningUnderlay string
}

// NodePlan is what one node runs.
type NodePlan struct {
	Node Node
	// Underlay owns the node; nil when no accepted Underlay selects it.
	Underlay *Underlay
	// UnderlayProblem says why the node cannot run its Underlay; nil when it can.
	UnderlayProblem *Problem
	// Others are the other accepted Underlays that select the node: they fail here.
	Others []*Underlay
	// L3VNIs are the accepted L3VNIs that select the node, sorted by name.
	L3VNIs []L3VNIOnNode
}

// L3VNIOnNode is one L3VNI that selects a node.
type L3VNIOnNode struct {
	L3VNI *L3VNI
	// Problem says why the node cannot run it; nil when it can.
	Problem *Problem
}

// Runs reports whether the node runs its Underlay.
func (p *NodePlan) Runs() bool { return p.Underlay != nil && p.UnderlayProblem == nil }

// Place decides what one node runs. Among several accepted Underlays that select
// it, the node keeps the one it runs; a node that runs none takes the oldest. An
// index outside a CIDR, a missing index or a missing Underlay is a problem of this
// node alone.
func Place(n Node, underlays []Underlay, l3vnis []L3VNI) NodePlan {
	plan := NodePlan{Node: n, L3VNIs: make([]L3VNIOnNode, 0, len(l3vnis))}
	var selecting []*Underlay
	for i := range underlays {
		if matches(underlays[i].selector, underlays[i].Spec.NodeSelector, n.Labels) {
			selecting = append(selecting, &underlays[i])
		}
	}
	sort.SliceStable(selecting, func(i, j int) bool {
		a, b := selecting[i], selecting[j]
		if (a.Name == n.RunningUnderlay) != (b.Name == n.RunningUnderlay) {
			return a.Name == n.RunningUnderlay
		}
		if !a.Created.Equal(&b.Created) {
			return a.Created.Before(&b.Created)
		}
		return a.Name < b.Name
	})
	if len(selecting) > 0 {
		plan.Underlay, plan.Others = selecting[0], selecting[1:]
		plan.UnderlayProblem = underlayProblem(n, plan.Underlay)
	}
	for i := range l3vnis {
		l := &l3vnis[i]
		if !matches(l.selector, l.Spec.NodeSelector, n.Labels) {
			continue
		}
		on := L3VNIOnNode{L3VNI: l}
		switch {
		case plan.Underlay == nil:
			p := problemf(ReasonNodeWithoutUnderlay, "no accepted Underlay selects node %s", n.Name)
			on.Problem = &p
		case plan.UnderlayProblem != nil && plan.UnderlayProblem.Reason == ReasonNoNodeIndex:
			on.Problem = plan.UnderlayProblem
		case plan.UnderlayProblem != nil:
			p := problemf(ReasonUnderlayFailed, "node %s cannot run Underlay %s: %s", n.Name, plan.Underlay.Name, plan.UnderlayProblem.Message)
			on.Problem = &p
		default:
			on.Problem = hostLegProblem(n, l)
		}
		plan.L3VNIs = append(plan.L3VNIs, on)
	}
	sort.Slice(plan.L3VNIs, func(i, j int) bool { return plan.L3VNIs[i].L3VNI.Name < plan.L3VNIs[j].L3VNI.Name })
	return plan
}

// ConflictProblem is the problem another Underlay that selects the node has there.
func (p *NodePlan) ConflictProblem() Problem {
	return problemf(ReasonUnderlayConflict, "node %s is also selected by Underlay %s, which it runs", p.Node.Name, p.Underlay.Name)
}

func underlayProblem(n Node, u *Underlay) *Problem {
	if !n.HasIndex {
		p := problemf(ReasonNoNodeIndex, "node %s has no index yet (annotation %s)", n.Name, evpnv1.NodeIndexAnnotation)
		return &p
	}
	if u.fits.fits(n.Index) {
		return nil
	}
	for _, c := range []struct {
		field, cidr string
		offset      int
	}{{"vtepCIDR", u.Spec.VTEPCIDR, addressing.VTEPOffset}, {"routerIDCIDR", RouterIDCIDR(&u.Spec), addressing.RouterIDOffset}} {
		if p := outOfRange(n, "Underlay "+u.Name, c.field, c.cidr, c.offset); p != nil {
			return p
		}
	}
	return nil
}

func hostLegProblem(n Node, l *L3VNI) *Problem {
	if l.fits.fits(n.Index) {
		return nil
	}
	for _, cidr := range []string{l.Spec.HostSession.LocalCIDR.IPv4, l.Spec.HostSession.LocalCIDR.IPv6} {
		if cidr == "" {
			continue
		}
		if p := outOfRange(n, "L3VNI "+l.Name, "localCIDR", cidr, addressing.HostLegOffset); p != nil {
			return p
		}
	}
	return nil
}

// outOfRange is the problem of a node whose index has no host in cidr.
func outOfRange(n Node, owner, field, cidr string, offset int) *Problem {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		pr := problemf(ReasonAddressOutOfRange, "%s: %s %q is not a CIDR", owner, field, cidr)
		return &pr
	}
	if addressing.Fits(p, n.Index+offset) {
		return nil
	}
	pr := problemf(ReasonAddressOutOfRange, "%s: %s %s has no address for node %s: its index %d needs host %d, the last host is %s",
		owner, field, cidr, n.Name, n.Index, n.Index+offset, addressing.MaxHost(p))
	return &pr
}

// Selects reports whether a node selector matches a node's labels; a nil selector
// matches every node and an invalid one none.
func Selects(sel *metav1.LabelSelector, nodeLabels map[string]string) bool {
	return Selector(sel).Matches(labels.Set(nodeLabels))
}

// String names a plan's outcome for logs and tests.
func (p *NodePlan) String() string {
	u := "none"
	if p.Underlay != nil {
		u = p.Underlay.Name
		if p.UnderlayProblem != nil {
			u += " (" + p.UnderlayProblem.Reason + ")"
		}
	}
	s := fmt.Sprintf("node %s: underlay %s;", p.Node.Name, u)
	for _, l := range p.L3VNIs {
		s += " " + l.L3VNI.Name
		if l.Problem != nil {
			s += "(" + l.Problem.Reason + ")"
		}
	}
	return s
}
