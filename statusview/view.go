// Package statusview joins what the API says about every node and L3VNI into rows
// a person reads at a terminal: our L3VNI and RouterNodeStatus objects, FRR-K8s's
// FRRNodeState and BGPSessionState. Without it a user joins four kinds of objects
// by hand. It is pure (a Snapshot in, rows out) and decides which node runs what
// with the same placement rules as the controller and the plumbers, so the view
// can never disagree with them about which node an L3VNI selects.
package statusview

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// Snapshot is everything the view reads, as listed from the API server.
type Snapshot struct {
	Underlays      []evpnv1.Underlay
	L3VNIs         []evpnv1.L3VNI
	Nodes          []corev1.Node
	RouterStatuses []evpnv1.RouterNodeStatus
	// FRRNodeStates and Sessions are FRR-K8s's; FRRK8sMissing is true when its
	// CRDs are not served.
	FRRNodeStates []frrv1beta1.FRRNodeState
	Sessions      []frrv1beta1.BGPSessionState
	FRRK8sMissing bool
	// Namespace holds our objects; the next steps name it.
	Namespace string
}

func (s *Snapshot) namespace() string {
	if s.Namespace == "" {
		return evpnv1.DefaultNamespace
	}
	return s.Namespace
}

// Row is one L3VNI on one node. A row whose Node is empty is about the L3VNI
// itself (not accepted, or selecting no node).
type Row struct {
	Node  string `json:"node,omitempty"`
	L3VNI string `json:"l3vni"`
	VNI   int32  `json:"vni,omitempty"`
	VRF   string `json:"vrf,omitempty"`
	// Generation is the accepted generation nodes must run; NodeGeneration is
	// the one this node reports running (0: none).
	Generation     int64 `json:"generation,omitempty"`
	NodeGeneration int64 `json:"nodeGeneration,omitempty"`
	// Ready: the node runs Generation, FRR accepted it, and the host session, when
	// FRR-K8s speaks it, is established.
	Ready bool `json:"ready"`
	// Speaker is "frr-k8s" when FRR-K8s speaks the host session on this node,
	// "other" when something else does (BIRD, Calico): the view cannot see it.
	Speaker string `json:"speaker,omitempty"`
	// HostPeer is the router leg's address FRR-K8s peers with; HostSession the
	// session's state as FRR-K8s reports it.
	HostPeer    string `json:"hostPeer,omitempty"`
	HostSession string `json:"hostSession,omitempty"`
	// FRRK8s is FRR-K8s's last conversion and reload result on the node.
	FRRK8s string `json:"frrK8s,omitempty"`
	// RouterReload is the result of the router's last FRR reload.
	RouterReload string `json:"routerReload,omitempty"`
	// Fabric is the router's fabric sessions, "established/configured", and
	// EVPN the L3VNI as the router's FRR runs it: both from the node's
	// RouterNodeStatus, absent until its plumber read them.
	Fabric string                 `json:"fabric,omitempty"`
	EVPN   *evpnv1.L3VNIEVPNState `json:"evpn,omitempty"`
	// Problem says what is wrong, Next what to look at; both empty when Ready.
	Problem string `json:"problem,omitempty"`
	Next    string `json:"next,omitempty"`
}

// Values of Row.Speaker.
const (
	SpeakerFRRK8s = "frr-k8s"
	SpeakerOther  = "other"
)

// Rows builds the view: one row per L3VNI and node it selects, plus one per
// L3VNI that runs nowhere. Rows with a problem come first; then by L3VNI, node.
func Rows(s *Snapshot) []Row {
	underlays, l3vnis := placement.Published(s.Underlays, s.L3VNIs)
	statuses := map[string]*evpnv1.RouterNodeStatus{}
	for i := range s.RouterStatuses {
		statuses[s.RouterStatuses[i].Name] = &s.RouterStatuses[i]
	}
	frrStates := map[string]*frrv1beta1.FRRNodeState{}
	for i := range s.FRRNodeStates {
		frrStates[s.FRRNodeStates[i].Name] = &s.FRRNodeStates[i]
	}

	var rows []Row
	placed := map[string]bool{}
	for i := range s.Nodes {
		n := placementNode(&s.Nodes[i], statuses[s.Nodes[i].Name])
		plan := placement.Place(n, underlays, l3vnis)
		for _, on := range plan.L3VNIs {
			placed[on.L3VNI.Name] = true
			rows = append(rows, nodeRow(s, n, on, statuses[n.Name], frrStates[n.Name]))
		}
	}
	for i := range s.L3VNIs {
		if r, ok := objectRow(&s.L3VNIs[i], placed, s.namespace()); ok {
			rows = append(rows, r)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Ready != b.Ready {
			return !a.Ready
		}
		if a.L3VNI != b.L3VNI {
			return a.L3VNI < b.L3VNI
		}
		return a.Node < b.Node
	})
	return rows
}

// AllReady reports whether every row is ready (and there is at least one).
func AllReady(rows []Row) bool {
	for _, r := range rows {
		if !r.Ready {
			return false
		}
	}
	return len(rows) > 0
}

// placementNode is a Node as placement sees it; the Underlay its router runs
// comes from its RouterNodeStatus, as in the controller.
func placementNode(n *corev1.Node, rs *evpnv1.RouterNodeStatus) placement.Node {
	idx, ok := addressing.ParseNodeIndex(n.Annotations)
	pn := placement.Node{Name: n.Name, Labels: n.Labels, Index: idx, HasIndex: ok}
	if rs != nil && rs.Status.Underlay != nil {
		pn.RunningUnderlay = rs.Status.Underlay.Name
	}
	return pn
}

// objectRow is the row of an L3VNI that no node runs, if it has one.
func objectRow(l *evpnv1.L3VNI, placed map[string]bool, ns string) (Row, bool) {
	r := Row{L3VNI: l.Name, VNI: l.Spec.VNI, VRF: l.Status.VRF}
	acc := meta.FindStatusCondition(l.Status.Conditions, evpnv1.ConditionAccepted)
	switch {
	case !l.DeletionTimestamp.IsZero():
		r.Problem, r.Next = "being deleted", "the controller removes its FRRConfiguration, then the finalizer"
	case placement.LastAcceptedL3VNI(l) == nil && acc == nil:
		r.Problem, r.Next = "not evaluated yet", "is the controller running? kubectl -n "+ns+" get pods"
	case placement.LastAcceptedL3VNI(l) == nil:
		r.Problem, r.Next = "not accepted: "+acc.Message, "fix the spec: kubectl -n "+ns+" edit l3vni "+l.Name
	case placed[l.Name]:
		if acc != nil && acc.Status == "False" {
			// Nodes run the last accepted generation; the new one is refused.
			r.Generation = l.Generation
			r.Problem, r.Next = fmt.Sprintf("generation %d not accepted (nodes keep the last accepted): %s", l.Generation, acc.Message),
				"fix the spec: kubectl -n "+ns+" edit l3vni "+l.Name
			return r, true
		}
		return Row{}, false
	default:
		r.Problem, r.Next = "no node matches the nodeSelector", "label a node or change spec.nodeSelector"
	}
	return r, true
}

// nodeRow judges one L3VNI on one node: the first problem along the path from
// placement to the host session wins, since each later one follows from it.
func nodeRow(s *Snapshot, n placement.Node, on placement.L3VNIOnNode, rs *evpnv1.RouterNodeStatus, fs *frrv1beta1.FRRNodeState) Row {
	l, ns := on.L3VNI, s.namespace()
	r := Row{Node: n.Name, L3VNI: l.Name, VNI: l.Spec.VNI, VRF: l.EffectiveVRF(), Generation: l.Generation, Speaker: SpeakerOther}
	var report *evpnv1.L3VNINodeState
	if rs != nil {
		for i := range rs.Status.L3VNIs {
			if rs.Status.L3VNIs[i].Name == l.Name {
				report = &rs.Status.L3VNIs[i]
			}
		}
		if lr := rs.Status.LastReload; lr != nil {
			r.RouterReload = lr.Result
		}
		r.Fabric = rs.Status.FabricSessions
	}
	if report != nil {
		r.NodeGeneration, r.EVPN = report.ObservedGeneration, report.EVPN
	}
	if placement.Selects(l.Spec.FRRK8s.NodeSelector, n.Labels) {
		r.Speaker = SpeakerFRRK8s
		r.HostPeer, r.HostSession = hostSession(s.Sessions, n.Name, l)
		r.FRRK8s = frrK8sResult(fs, s.FRRK8sMissing)
	}

	switch {
	case on.Problem != nil:
		r.Problem, r.Next = on.Problem.Message, nextFor(on.Problem.Reason, n.Name, ns)
	case rs == nil:
		r.Problem, r.Next = "the node's plumber has not reported (no RouterNodeStatus)",
			"is the nodeplumber pod running on "+n.Name+"? kubectl -n "+ns+" get pods -o wide"
	case report != nil && report.ObservedGeneration == l.Generation && report.Ready:
		// Applied; what follows is the router's FRR, then the host session's side.
		if r.Problem = routerProblem(&r, rs, ns); r.Problem == "" {
			r.Problem = frrK8sProblem(&r, s, ns, l.Name)
		}
	case report != nil && report.Message != "":
		r.Problem, r.Next = "the node cannot run it: "+report.Message, "kubectl -n "+ns+" logs <nodeplumber pod on "+n.Name+">"
	default:
		r.Problem, r.Next = fmt.Sprintf("applying generation %d (node runs %d)", l.Generation, r.NodeGeneration),
			"wait; if it stays, kubectl -n "+ns+" logs <nodeplumber pod on "+n.Name+">"
	}
	r.Ready = r.Problem == ""
	return r
}

// routerProblem judges what the router's FRR runs for an applied L3VNI, as the
// plumber last read it: FRR answers, a fabric session is up, zebra has the VNI
// up. It sets r.Next and returns the problem ("" when none, or nothing read).
func routerProblem(r *Row, rs *evpnv1.RouterNodeStatus, ns string) string {
	exec := "kubectl -n " + ns + " exec <router pod on " + r.Node + "> -c frr -- vtysh -c "
	st := rs.Status
	switch {
	case st.LiveError != "":
		r.Next = "kubectl -n " + ns + " describe pod <router pod on " + r.Node + ">"
		return st.LiveError
	case st.FabricSessions != "" && strings.HasPrefix(st.FabricSessions, "0/"):
		r.Next = exec + "'show bgp summary'"
		return "no fabric session is established (" + st.FabricSessions + ")"
	case r.EVPN == nil && st.FabricSessions != "":
		// FRR was read, and does not run the VNI under this VRF.
		r.Next = exec + "'show vrf vni'"
		return fmt.Sprintf("the router's FRR does not run VNI %d in VRF %s", r.VNI, r.VRF)
	case r.EVPN != nil && r.EVPN.VNIState != "Up":
		r.Next = exec + "'show evpn vni detail'"
		return fmt.Sprintf("zebra reports VNI %d %s", r.VNI, r.EVPN.VNIState)
	}
	return ""
}

// frrK8sProblem judges the host session of an applied L3VNI, when FRR-K8s speaks
// it; it sets r.Next and returns the problem ("" when none).
func frrK8sProblem(r *Row, s *Snapshot, ns, l3vni string) string {
	if r.Speaker != SpeakerFRRK8s {
		return ""
	}
	switch {
	case s.FRRK8sMissing:
		r.Next = "install FRR-K8s: its CRDs are not served"
		return "FRR-K8s is not installed"
	case r.FRRK8s != "success" && r.FRRK8s != "":
		r.Next = "kubectl get frrnodestate " + r.Node + " -o yaml"
		return "FRR-K8s failed: " + r.FRRK8s
	case r.HostSession == "":
		r.Next = "is FRR-K8s running on " + r.Node + "? does its FRRNodeState list the neighbor? kubectl get frrnodestate " + r.Node + " -o yaml"
		return "FRR-K8s reports no session to the router leg " + r.HostPeer
	case r.HostSession != "Established":
		r.Next = "kubectl -n " + ns + " exec <router pod on " + r.Node + "> -c frr -- vtysh -c 'show bgp vrf " + r.VRF + " neighbors " + r.HostPeer + "'"
		return "host session " + r.HostSession
	}
	return ""
}

// hostSession finds FRR-K8s's session from the node to the L3VNI's router leg
// (the same address on every node), in FRR-K8s's default VRF.
func hostSession(sessions []frrv1beta1.BGPSessionState, node string, l *placement.L3VNI) (peer, state string) {
	for _, cidr := range []string{l.Spec.HostSession.LocalCIDR.IPv4, l.Spec.HostSession.LocalCIDR.IPv6} {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			continue
		}
		leg, err := addressing.RouterLeg(p)
		if err != nil {
			continue
		}
		if peer == "" {
			peer = leg.String()
		}
		for i := range sessions {
			st := &sessions[i].Status
			if st.Node == node && st.VRF == "" && samePeer(st.Peer, leg) {
				return leg.String(), st.BGPStatus
			}
		}
	}
	return peer, ""
}

// samePeer compares FRR-K8s's peer field, which writes an IPv6 address expanded
// with dashes (it doubles as a label value), with an address.
func samePeer(field string, a netip.Addr) bool {
	if field == a.String() {
		return true
	}
	return a.Is6() && field == strings.ReplaceAll(a.StringExpanded(), ":", "-")
}

// frrK8sResult sums up FRR-K8s's FRRNodeState: "success", the failure, or
// empty when FRR-K8s has not reported on the node.
func frrK8sResult(fs *frrv1beta1.FRRNodeState, missing bool) string {
	if missing || fs == nil {
		return ""
	}
	var parts []string
	if r := fs.Status.LastConversionResult; r != "" && r != "success" {
		parts = append(parts, "conversion: "+strings.TrimSpace(r))
	}
	if r := fs.Status.LastReloadResult; r != "" && r != "success" {
		parts = append(parts, "reload: "+strings.TrimSpace(r))
	}
	if len(parts) == 0 {
		return "success"
	}
	return strings.Join(parts, "; ")
}

// nextFor is the next step for a placement problem of a node.
func nextFor(reason, node, ns string) string {
	switch reason {
	case placement.ReasonNoNodeIndex:
		return "the controller assigns node indexes: is it running? kubectl -n " + ns + " get pods"
	case placement.ReasonNodeWithoutUnderlay:
		return "make an Underlay select " + node + ", or change the L3VNI's nodeSelector"
	case placement.ReasonUnderlayConflict:
		return "make only one Underlay select " + node
	case placement.ReasonAddressOutOfRange:
		return "widen the CIDR: the node's index needs more hosts"
	case placement.ReasonUnderlayFailed:
		return "kubectl -n " + ns + " get underlays; kubectl -n " + ns + " get routernodestatus " + node + " -o yaml"
	}
	return "kubectl -n " + ns + " get routernodestatus " + node + " -o yaml"
}
