package placement

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// Reasons of a False Accepted condition.
const (
	ReasonAccepted             = "Accepted"
	ReasonInvalidSpec          = "InvalidSpec"
	ReasonOverlappingCIDR      = "OverlappingCIDR"
	ReasonDuplicateVNI         = "DuplicateVNI"
	ReasonDuplicateVRF         = "DuplicateVRF"
	ReasonOverlappingLocalCIDR = "OverlappingLocalCIDR"
	ReasonHostASNMismatch      = "HostASNMismatch"
	ReasonAmbiguousRouterASN   = "AmbiguousRouterASN"
	ReasonNoUnderlay           = "NoUnderlay"
	ReasonWrongFRRK8sNamespace = "UnsupportedFRRK8sNamespace"
	ReasonNameTaken            = "NameTaken"
	ReasonSecretMissing        = "PasswordSecretMissing"
	ReasonClusterNetwork       = "OverlapsClusterNetwork"
)

// DefaultRouterIDCIDR is routerIDCIDR when an Underlay leaves it unset (the API
// server defaults it; objects read from files may not have it).
const DefaultRouterIDCIDR = "10.0.0.0/24"

// RouterIDCIDR is an Underlay's routerIDCIDR, or the default when unset.
func RouterIDCIDR(spec *evpnv1.UnderlaySpec) string {
	if spec.RouterIDCIDR == "" {
		return DefaultRouterIDCIDR
	}
	return spec.RouterIDCIDR
}

// UnderlayVerdict is the decision on one Underlay.
type UnderlayVerdict struct {
	Underlay *evpnv1.Underlay
	// Problems is empty when the current generation is accepted.
	Problems Problems
	// Accepted is the version nodes run after this decision: the current spec when
	// accepted, else the last accepted one; nil when there is none.
	Accepted *evpnv1.AcceptedUnderlay
}

// L3VNIVerdict is the decision on one L3VNI.
type L3VNIVerdict struct {
	L3VNI    *evpnv1.L3VNI
	Problems Problems
	// Accepted is the version nodes run after this decision (nil when there is
	// none, or when the L3VNI is being deleted: nodes drop it).
	Accepted *evpnv1.AcceptedL3VNI
}

// OK reports whether the current generation is accepted.
func (v *UnderlayVerdict) OK() bool { return len(v.Problems) == 0 }

// OK reports whether the current generation is accepted.
func (v *L3VNIVerdict) OK() bool { return len(v.Problems) == 0 }

// Verdicts are the decisions on every Underlay and L3VNI, in priority order.
type Verdicts struct {
	Underlays []*UnderlayVerdict
	L3VNIs    []*L3VNIVerdict
}

// Accept decides which Underlays and L3VNIs are accepted. What an accepted version
// claims (VNI, VRF, CIDRs, host ASN) stays claimed while nodes run it, even when
// the object's newer generation is rejected: a newcomer cannot take a VNI that
// nodes still run. Among objects that conflict, the one with priority (an accepted
// version first, then the oldest, then by name) keeps its claim and the other is
// rejected. frrK8sNamespace is where the controller writes FRRConfigurations.
//
// Cluster facts refuse new generations only: a version already accepted is not
// refused for a Secret that went or a network that came later; that fails on
// the nodes, which keep what they run.
func Accept(underlays []evpnv1.Underlay, l3vnis []evpnv1.L3VNI, c Cluster) Verdicts {
	var v Verdicts
	v.Underlays = acceptUnderlays(underlays, runningVRFs(l3vnis), c.Secrets)
	v.L3VNIs = acceptL3VNIs(l3vnis, v.Underlays, c)
	return v
}

// Cluster is what the decisions depend on besides the Underlays and L3VNIs.
type Cluster struct {
	// FRRK8sNamespace is where the controller writes FRRConfigurations.
	FRRK8sNamespace string
	// Secrets names the Secrets of the namespace: a new Underlay generation that
	// names a password Secret that does not exist is refused (nil: not checked).
	Secrets map[string]bool
	// Networks are the cluster's own ranges (services, pods, nodes): a localCIDR
	// must not overlap them, since its connected route on the host leg of every
	// selected node would capture their traffic.
	Networks []Network
}

// Network is one of the cluster's address ranges, and what it is.
type Network struct {
	Prefix netip.Prefix
	// Of says where it comes from, for the user ("ServiceCIDR kubernetes").
	Of string
}

// LastAccepted returns the version of an Underlay that nodes run, as published in
// its status. An object accepted by a controller that did not publish versions
// yet (its Accepted condition is True at its generation) runs its spec.
func LastAccepted(u *evpnv1.Underlay) *evpnv1.AcceptedUnderlay {
	if u.Status.Accepted != nil {
		return u.Status.Accepted
	}
	if acceptedNow(u.Status.Conditions, u.Generation) {
		return &evpnv1.AcceptedUnderlay{Generation: u.Generation, Spec: u.Spec}
	}
	return nil
}

// LastAcceptedL3VNI is LastAccepted for an L3VNI; a controller that did not
// publish versions yet took the router ASN from hostSession.asn only.
func LastAcceptedL3VNI(l *evpnv1.L3VNI) *evpnv1.AcceptedL3VNI {
	if l.Status.Accepted != nil {
		return l.Status.Accepted
	}
	if acceptedNow(l.Status.Conditions, l.Generation) {
		a := &evpnv1.AcceptedL3VNI{Generation: l.Generation, Spec: l.Spec}
		if l.Spec.HostSession.ASN != nil {
			a.RouterASN = *l.Spec.HostSession.ASN
		}
		return a
	}
	return nil
}

func acceptedNow(conds []metav1.Condition, generation int64) bool {
	c := meta.FindStatusCondition(conds, evpnv1.ConditionAccepted)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == generation
}

// byPriority orders objects so that conflicts go to the one nodes already run:
// objects with an accepted version first, then the oldest, then by name.
func byPriority[T any](items []T, get func(*T) (metav1.ObjectMeta, bool)) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	sort.SliceStable(out, func(i, j int) bool {
		mi, ai := get(out[i])
		mj, aj := get(out[j])
		if ai != aj {
			return ai
		}
		if !mi.CreationTimestamp.Equal(&mj.CreationTimestamp) {
			return mi.CreationTimestamp.Before(&mj.CreationTimestamp)
		}
		return mi.Name < mj.Name
	})
	return out
}

// underlayClaim is what one Underlay's version holds: its address ranges.
type underlayClaim struct {
	vtep, routerID netip.Prefix
}

func claimOfUnderlay(spec *evpnv1.UnderlaySpec) (underlayClaim, Problems) {
	var c underlayClaim
	var ps Problems
	var err error
	if c.vtep, err = netip.ParsePrefix(spec.VTEPCIDR); err != nil {
		ps = append(ps, problemf(ReasonInvalidSpec, "vtepCIDR %q is not a CIDR: %v", spec.VTEPCIDR, err))
	}
	rid := RouterIDCIDR(spec)
	if c.routerID, err = netip.ParsePrefix(rid); err != nil {
		ps = append(ps, problemf(ReasonInvalidSpec, "routerIDCIDR %q is not a CIDR: %v", rid, err))
	}
	return c, ps
}

// partlyOverlap reports two ranges that overlap without being the same. The same
// range in two Underlays is safe: node indexes are unique in the cluster, so host
// index+1 of it is a different address for every node. A range inside another
// with another base hands one address to two nodes.
func partlyOverlap(a, b netip.Prefix) bool {
	return a.IsValid() && b.IsValid() && a.Overlaps(b) && a.Masked() != b.Masked()
}

// runningVRFs maps the VRF names nodes run to their L3VNI: a NIC moved into the
// router netns must not take one of them.
func runningVRFs(l3vnis []evpnv1.L3VNI) map[string]string {
	out := map[string]string{}
	for i := range l3vnis {
		l := &l3vnis[i]
		if a := LastAcceptedL3VNI(l); a != nil && l.DeletionTimestamp.IsZero() {
			vrf := a.Spec.VRF
			if vrf == "" {
				vrf = l.Name
			}
			out[vrf] = l.Name
		}
	}
	return out
}

func acceptUnderlays(underlays []evpnv1.Underlay, vrfs map[string]string, secrets map[string]bool) []*UnderlayVerdict {
	claims := map[string]underlayClaim{}
	for i := range underlays {
		if a := LastAccepted(&underlays[i]); a != nil {
			if c, ps := claimOfUnderlay(&a.Spec); len(ps) == 0 {
				claims[underlays[i].Name] = c
			}
		}
	}
	var out []*UnderlayVerdict
	for _, u := range byPriority(underlays, func(u *evpnv1.Underlay) (metav1.ObjectMeta, bool) {
		return u.ObjectMeta, LastAccepted(u) != nil
	}) {
		v := &UnderlayVerdict{Underlay: u, Accepted: LastAccepted(u)}
		out = append(out, v)
		running, hadClaim := claims[u.Name]
		delete(claims, u.Name)
		mine, ps := claimOfUnderlay(&u.Spec)
		v.Problems = ps
		if u.Spec.NodeSelector != nil {
			if _, err := metav1.LabelSelectorAsSelector(u.Spec.NodeSelector); err != nil {
				v.Problems = append(v.Problems, problemf(ReasonInvalidSpec, "nodeSelector: %v", err))
			}
		}
		for _, nic := range u.Spec.NICs {
			if l, ok := vrfs[string(nic)]; ok {
				v.Problems = append(v.Problems, problemf(ReasonNameTaken, "NIC %s has the name of L3VNI %s's VRF, and both live in the router's netns", nic, l))
			}
		}
		if secrets != nil && (v.Accepted == nil || v.Accepted.Generation != u.Generation) {
			for _, n := range u.Spec.Neighbors {
				if n.PasswordSecret != nil && !secrets[n.PasswordSecret.Name] {
					v.Problems = append(v.Problems, problemf(ReasonSecretMissing,
						"neighbor %s: password Secret %q does not exist in namespace %s: create it first", n.Address, n.PasswordSecret.Name, u.Namespace))
				}
			}
		}
		for _, other := range sortedKeys(claims) {
			c := claims[other]
			if partlyOverlap(mine.vtep, c.vtep) {
				v.Problems = append(v.Problems, problemf(ReasonOverlappingCIDR,
					"vtepCIDR %s overlaps %s of Underlay %s: two nodes would get the same VTEP (use the same range or a disjoint one)", mine.vtep, c.vtep, other))
			}
			if partlyOverlap(mine.routerID, c.routerID) {
				v.Problems = append(v.Problems, problemf(ReasonOverlappingCIDR,
					"routerIDCIDR %s overlaps %s of Underlay %s: two nodes would get the same router ID (use the same range or a disjoint one)", mine.routerID, c.routerID, other))
			}
		}
		switch {
		case v.OK():
			claims[u.Name] = mine
			v.Accepted = &evpnv1.AcceptedUnderlay{Generation: u.Generation, Spec: *u.Spec.DeepCopy()}
		case hadClaim:
			claims[u.Name] = running
		}
	}
	return out
}

// l3vniClaim is what one L3VNI's version holds.
type l3vniClaim struct {
	vni     int32
	vrf     string
	cidrs   []netip.Prefix
	hostASN int64
}

func claimOfL3VNI(name string, spec *evpnv1.L3VNISpec) (l3vniClaim, Problems) {
	c := l3vniClaim{vni: spec.VNI, vrf: spec.VRF, hostASN: spec.HostSession.HostASN}
	if c.vrf == "" {
		c.vrf = name
	}
	var ps Problems
	for _, s := range []string{spec.HostSession.LocalCIDR.IPv4, spec.HostSession.LocalCIDR.IPv6} {
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			ps = append(ps, problemf(ReasonInvalidSpec, "localCIDR %q is not a CIDR: %v", s, err))
			continue
		}
		c.cidrs = append(c.cidrs, p)
	}
	return c, ps
}

func acceptL3VNIs(l3vnis []evpnv1.L3VNI, underlays []*UnderlayVerdict, cluster Cluster) []*L3VNIVerdict {
	frrK8sNamespace := cluster.FRRK8sNamespace
	// The router ASN an L3VNI without hostSession.asn takes: the Underlays'.
	underlayASNs := map[int64]bool{}
	nics := map[string]string{} // NIC name -> Underlay: they live in the router netns
	for _, uv := range underlays {
		if uv.Accepted != nil {
			underlayASNs[uv.Accepted.Spec.ASN] = true
			for _, n := range uv.Accepted.Spec.NICs {
				nics[string(n)] = uv.Underlay.Name
			}
		}
	}
	claims := map[string]l3vniClaim{}
	for i := range l3vnis {
		l := &l3vnis[i]
		if a := LastAcceptedL3VNI(l); a != nil && l.DeletionTimestamp.IsZero() {
			if c, ps := claimOfL3VNI(l.Name, &a.Spec); len(ps) == 0 {
				claims[l.Name] = c
			}
		}
	}
	var out []*L3VNIVerdict
	for _, l := range byPriority(l3vnis, func(l *evpnv1.L3VNI) (metav1.ObjectMeta, bool) {
		return l.ObjectMeta, LastAcceptedL3VNI(l) != nil
	}) {
		v := &L3VNIVerdict{L3VNI: l, Accepted: LastAcceptedL3VNI(l)}
		out = append(out, v)
		if !l.DeletionTimestamp.IsZero() {
			v.Accepted = nil // leaving: nodes drop it; it neither claims nor conflicts
			continue
		}
		running, hadClaim := claims[l.Name]
		delete(claims, l.Name)
		spec := &l.Spec
		mine, ps := claimOfL3VNI(l.Name, spec)
		v.Problems = ps
		if ns := spec.FRRK8s.Namespace; ns != "" && ns != frrK8sNamespace {
			v.Problems = append(v.Problems, problemf(ReasonWrongFRRK8sNamespace,
				"frrK8s.namespace %q: this controller writes FRRConfigurations to %q (its --frrk8s-namespace)", ns, frrK8sNamespace))
		}
		for _, s := range []struct {
			field string
			sel   *metav1.LabelSelector
		}{{"nodeSelector", spec.NodeSelector}, {"frrK8s.nodeSelector", spec.FRRK8s.NodeSelector}} {
			if s.sel == nil {
				continue
			}
			if _, err := metav1.LabelSelectorAsSelector(s.sel); err != nil {
				v.Problems = append(v.Problems, problemf(ReasonInvalidSpec, "%s: %v", s.field, err))
			}
		}
		for _, other := range sortedKeys(claims) {
			c := claims[other]
			if c.vni == mine.vni {
				v.Problems = append(v.Problems, problemf(ReasonDuplicateVNI, "VNI %d is already used by L3VNI %s", mine.vni, other))
			}
			if c.vrf == mine.vrf {
				v.Problems = append(v.Problems, problemf(ReasonDuplicateVRF, "VRF %q is already used by L3VNI %s", mine.vrf, other))
			}
			for _, p := range mine.cidrs {
				for _, q := range c.cidrs {
					if p.Overlaps(q) {
						v.Problems = append(v.Problems, problemf(ReasonOverlappingLocalCIDR, "localCIDR %s overlaps %s of L3VNI %s", p, q, other))
					}
				}
			}
		}
		if v.Accepted == nil || v.Accepted.Generation != l.Generation {
			for _, p := range mine.cidrs {
				for _, n := range cluster.Networks {
					if p.Overlaps(n.Prefix) {
						v.Problems = append(v.Problems, problemf(ReasonClusterNetwork,
							"localCIDR %s overlaps the cluster's network %s (%s): its route on every selected node would capture that traffic; pick a range the cluster does not use", p, n.Prefix, n.Of))
					}
				}
			}
		}
		if u, ok := nics[mine.vrf]; ok {
			v.Problems = append(v.Problems, problemf(ReasonNameTaken, "VRF %q has the name of a NIC of Underlay %s, and both live in the router's netns: set spec.vrf", mine.vrf, u))
		}
		if other, asn, ok := otherHostASN(claims, mine.hostASN); ok {
			v.Problems = append(v.Problems, problemf(ReasonHostASNMismatch,
				"hostASN %d differs from %d of L3VNI %s: FRR-K8s runs one BGP router per node, so every L3VNI must use the same hostASN",
				mine.hostASN, asn, other))
		}
		routerASN, p := routerASNOf(spec, v.Accepted, underlayASNs)
		if p != nil {
			v.Problems = append(v.Problems, *p)
		}
		switch {
		case v.OK():
			claims[l.Name] = mine
			v.Accepted = &evpnv1.AcceptedL3VNI{Generation: l.Generation, Spec: *spec.DeepCopy(), RouterASN: routerASN}
		case hadClaim:
			claims[l.Name] = running
		}
	}
	return out
}

// routerASNOf decides the router's ASN in the VRF: hostSession.asn, else the one
// ASN of the accepted Underlays. When the Underlays disagree (or are gone), an
// L3VNI accepted before keeps the ASN it runs with; a new one is rejected, since
// one FRRConfiguration per L3VNI can peer with one ASN only.
func routerASNOf(spec *evpnv1.L3VNISpec, last *evpnv1.AcceptedL3VNI, underlayASNs map[int64]bool) (int64, *Problem) {
	if spec.HostSession.ASN != nil {
		return *spec.HostSession.ASN, nil
	}
	if len(underlayASNs) == 1 {
		for asn := range underlayASNs {
			return asn, nil
		}
	}
	if last != nil && last.RouterASN != 0 {
		return last.RouterASN, nil
	}
	if len(underlayASNs) == 0 {
		p := problemf(ReasonNoUnderlay, "hostSession.asn is unset and no Underlay is accepted to take the router's ASN from: create the Underlay or set hostSession.asn")
		return 0, &p
	}
	p := problemf(ReasonAmbiguousRouterASN, "hostSession.asn is unset and the accepted Underlays use different ASNs (%s): set hostSession.asn", sortedASNs(underlayASNs))
	return 0, &p
}

func otherHostASN(claims map[string]l3vniClaim, mine int64) (string, int64, bool) {
	for _, name := range sortedKeys(claims) {
		if c := claims[name]; c.hostASN != mine {
			return name, c.hostASN, true
		}
	}
	return "", 0, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
