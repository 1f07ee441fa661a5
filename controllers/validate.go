package controllers

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// Reasons of a False Accepted condition.
const (
	ReasonAccepted             = "Accepted"
	ReasonInvalidSpec          = "InvalidSpec"
	ReasonNodeSelectedTwice    = "NodeSelectedByAnotherUnderlay"
	ReasonCIDRTooSmall         = "CIDRTooSmall"
	ReasonDuplicateVNI         = "DuplicateVNI"
	ReasonDuplicateVRF         = "DuplicateVRF"
	ReasonOverlappingLocalCIDR = "OverlappingLocalCIDR"
	ReasonHostASNMismatch      = "HostASNMismatch"
	ReasonNodeWithoutUnderlay  = "NodeWithoutUnderlay"
	ReasonAmbiguousRouterASN   = "AmbiguousRouterASN"
	ReasonWrongFRRK8sNamespace = "UnsupportedFRRK8sNamespace"
)

// verdict is the outcome of validating one object: accepted, or the reasons why not.
type verdict struct {
	problems []problem
}

type problem struct{ reason, message string }

func (v *verdict) reject(reason, format string, args ...any) {
	v.problems = append(v.problems, problem{reason, fmt.Sprintf(format, args...)})
}

func (v *verdict) accepted() bool { return len(v.problems) == 0 }

// reason is the first problem's reason; message lists them all.
func (v *verdict) reason() string {
	if v.accepted() {
		return ReasonAccepted
	}
	return v.problems[0].reason
}

func (v *verdict) message() string {
	if v.accepted() {
		return ""
	}
	msgs := make([]string, len(v.problems))
	for i, p := range v.problems {
		msgs[i] = p.message
	}
	return strings.Join(msgs, "; ")
}

// underlayVerdict is an Underlay's validation result and the nodes it selects.
type underlayVerdict struct {
	verdict
	underlay *evpnv1.Underlay
	selected []*NodeFacts
}

// l3vniVerdict is an L3VNI's validation result, the nodes it selects and the
// router ASN its FRRConfiguration peers with.
type l3vniVerdict struct {
	verdict
	l3vni     *evpnv1.L3VNI
	selected  []*NodeFacts
	routerASN int64
}

// selectNodes returns the nodes a selector matches; a nil selector matches all.
func selectNodes(sel *metav1.LabelSelector, nodes []NodeFacts) ([]*NodeFacts, error) {
	s := labels.Everything()
	if sel != nil {
		var err error
		if s, err = metav1.LabelSelectorAsSelector(sel); err != nil {
			return nil, err
		}
	}
	var out []*NodeFacts
	for i := range nodes {
		if s.Matches(labels.Set(nodes[i].Labels)) {
			out = append(out, &nodes[i])
		}
	}
	return out, nil
}

// highestIndex returns the indexed node with the highest index, or nil.
func highestIndex(nodes []*NodeFacts) *NodeFacts {
	var top *NodeFacts
	for _, n := range nodes {
		if n.HasIndex && (top == nil || n.Index > top.Index) {
			top = n
		}
	}
	return top
}

// checkRoom rejects when the host that the highest-indexed node needs is not in cidr.
func checkRoom(v *verdict, field, cidr string, offset int, top *NodeFacts) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		v.reject(ReasonInvalidSpec, "%s %q is not a CIDR: %v", field, cidr, err)
		return
	}
	if top == nil || addressing.Fits(p, top.Index+offset) {
		return
	}
	v.reject(ReasonCIDRTooSmall, "%s %s is too small: node %s has index %d and needs host %d, but the last host is %s",
		field, cidr, top.Name, top.Index, top.Index+offset, addressing.MaxHost(p))
}

// validateUnderlays decides which Underlays are accepted. Among Underlays that select
// the same node, the one with priority (see byPriority) keeps it.
func validateUnderlays(underlays []evpnv1.Underlay, nodes []NodeFacts) []*underlayVerdict {
	owner := map[string]string{} // node name -> accepted Underlay
	var out []*underlayVerdict
	for _, u := range byPriority(underlays, func(u *evpnv1.Underlay) (metav1.ObjectMeta, []metav1.Condition) {
		return u.ObjectMeta, u.Status.Conditions
	}) {
		uv := &underlayVerdict{underlay: u}
		out = append(out, uv)
		selected, err := selectNodes(u.Spec.NodeSelector, nodes)
		if err != nil {
			uv.reject(ReasonInvalidSpec, "nodeSelector: %v", err)
			continue
		}
		uv.selected = selected
		var taken []string
		for _, n := range selected {
			if other, ok := owner[n.Name]; ok {
				taken = append(taken, fmt.Sprintf("%s (by %s)", n.Name, other))
			}
		}
		if len(taken) > 0 {
			uv.reject(ReasonNodeSelectedTwice, "nodes already selected by another Underlay: %s", listSome(taken))
		}
		top := highestIndex(selected)
		checkRoom(&uv.verdict, "vtepCIDR", u.Spec.VTEPCIDR, addressing.VTEPOffset, top)
		routerIDCIDR := u.Spec.RouterIDCIDR
		if routerIDCIDR == "" {
			routerIDCIDR = "10.0.0.0/24"
		}
		checkRoom(&uv.verdict, "routerIDCIDR", routerIDCIDR, addressing.RouterIDOffset, top)
		if uv.accepted() {
			for _, n := range selected {
				owner[n.Name] = u.Name
			}
		}
	}
	return out
}

// validateL3VNIs decides which L3VNIs are accepted, given the accepted Underlays.
// An L3VNI that conflicts with one of higher priority is the one rejected.
func validateL3VNIs(l3vnis []evpnv1.L3VNI, nodes []NodeFacts, underlays []*underlayVerdict, frrK8sNamespace string) []*l3vniVerdict {
	underlayOf := map[string]*evpnv1.Underlay{}
	for _, uv := range underlays {
		if uv.accepted() {
			for _, n := range uv.selected {
				underlayOf[n.Name] = uv.underlay
			}
		}
	}
	type claim struct {
		name   string
		prefix netip.Prefix
	}
	vnis := map[int32]string{}
	vrfs := map[string]string{}
	var cidrs []claim
	hostASN, hostASNOwner := int64(0), ""

	var out []*l3vniVerdict
	for _, l := range byPriority(l3vnis, func(l *evpnv1.L3VNI) (metav1.ObjectMeta, []metav1.Condition) {
		return l.ObjectMeta, l.Status.Conditions
	}) {
		lv := &l3vniVerdict{l3vni: l}
		out = append(out, lv)
		if !l.DeletionTimestamp.IsZero() {
			continue // leaving: it neither claims nor conflicts
		}
		spec := l.Spec

		if ns := spec.FRRK8s.Namespace; ns != "" && ns != frrK8sNamespace {
			lv.reject(ReasonWrongFRRK8sNamespace, "frrK8s.namespace %q: this controller writes FRRConfigurations to %q (its --frrk8s-namespace)", ns, frrK8sNamespace)
		}
		if other, ok := vnis[spec.VNI]; ok {
			lv.reject(ReasonDuplicateVNI, "VNI %d is already used by L3VNI %s", spec.VNI, other)
		}
		vrf := l.EffectiveVRF()
		if other, ok := vrfs[vrf]; ok {
			lv.reject(ReasonDuplicateVRF, "VRF %q is already used by L3VNI %s", vrf, other)
		}
		var mine []netip.Prefix
		for _, s := range []string{spec.HostSession.LocalCIDR.IPv4, spec.HostSession.LocalCIDR.IPv6} {
			if s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				lv.reject(ReasonInvalidSpec, "localCIDR %q is not a CIDR: %v", s, err)
				continue
			}
			mine = append(mine, p)
			for _, c := range cidrs {
				if c.prefix.Overlaps(p) {
					lv.reject(ReasonOverlappingLocalCIDR, "localCIDR %s overlaps %s of L3VNI %s", p, c.prefix, c.name)
				}
			}
		}
		if hostASNOwner != "" && spec.HostSession.HostASN != hostASN {
			lv.reject(ReasonHostASNMismatch, "hostASN %d differs from %d of L3VNI %s: FRR-K8s runs one BGP router per node, so every L3VNI must use the same hostASN",
				spec.HostSession.HostASN, hostASN, hostASNOwner)
		}

		selected, err := selectNodes(spec.NodeSelector, nodes)
		if err != nil {
			lv.reject(ReasonInvalidSpec, "nodeSelector: %v", err)
		}
		lv.selected = selected
		var orphans []string
		routerASNs := map[int64]bool{}
		for _, n := range selected {
			u, ok := underlayOf[n.Name]
			if !ok {
				orphans = append(orphans, n.Name)
				continue
			}
			routerASNs[u.Spec.ASN] = true
		}
		if len(orphans) > 0 {
			lv.reject(ReasonNodeWithoutUnderlay, "selected nodes that no accepted Underlay selects: %s", listSome(orphans))
		}
		switch {
		case spec.HostSession.ASN != nil:
			lv.routerASN = *spec.HostSession.ASN
		case len(routerASNs) == 1:
			for asn := range routerASNs {
				lv.routerASN = asn
			}
		case len(routerASNs) > 1:
			lv.reject(ReasonAmbiguousRouterASN, "hostSession.asn is unset and the Underlays of the selected nodes use different ASNs (%s): set hostSession.asn", sortedASNs(routerASNs))
		}
		top := highestIndex(selected)
		for _, p := range mine {
			checkRoom(&lv.verdict, "localCIDR", p.String(), addressing.HostLegOffset, top)
		}

		if !lv.accepted() {
			continue
		}
		vnis[spec.VNI] = l.Name
		vrfs[vrf] = l.Name
		for _, p := range mine {
			cidrs = append(cidrs, claim{l.Name, p})
		}
		if hostASNOwner == "" {
			hostASN, hostASNOwner = spec.HostSession.HostASN, l.Name
		}
	}
	return out
}

func sortedASNs(set map[int64]bool) string {
	var asns []int64
	for a := range set {
		asns = append(asns, a)
	}
	sort.Slice(asns, func(i, j int) bool { return asns[i] < asns[j] })
	s := make([]string, len(asns))
	for i, a := range asns {
		s[i] = fmt.Sprint(a)
	}
	return strings.Join(s, ", ")
}

// listSome joins the first few items and counts the rest, so that a message about
// a thousand nodes stays readable.
func listSome(items []string) string {
	const shown = 5
	if len(items) <= shown {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:shown], ", "), len(items)-shown)
}
