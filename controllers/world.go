package controllers

import (
	"sort"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// NodeFacts is what the decisions need to know of a Node.
type NodeFacts struct {
	Name   string
	Labels map[string]string
	// Index is the node index; HasIndex is false until the allocator assigned one.
	Index    int
	HasIndex bool
}

// World is a snapshot of everything the L3VNI and Underlay decisions depend on.
type World struct {
	Underlays []evpnv1.Underlay
	L3VNIs    []evpnv1.L3VNI
	Nodes     []NodeFacts
	// RouterStatuses and FRRNodeStates are keyed by node name.
	RouterStatuses map[string]*evpnv1.RouterNodeStatus
	FRRNodeStates  map[string]*frrv1beta1.FRRNodeState
	// FRRConfigurations are the generated ones that exist, keyed by their
	// OwnerAnnotation ("namespace/name" of the L3VNI).
	FRRConfigurations map[string]*frrv1beta1.FRRConfiguration
	// FRRK8sNamespace is where this controller writes FRRConfigurations.
	FRRK8sNamespace string
}

// acceptedNow reports whether an object's status says it was accepted at its
// current generation. Such objects keep priority over newer or changed ones, so a
// newly conflicting object is the one rejected and the one already working keeps
// working.
func acceptedNow(conds []metav1.Condition, generation int64) bool {
	c := meta.FindStatusCondition(conds, evpnv1.ConditionAccepted)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == generation
}

// byPriority sorts objects so that conflicts are decided in favour of the one that
// was accepted first: accepted at their current generation, then oldest, then name.
func byPriority[T any](items []T, meta func(*T) (metav1.ObjectMeta, []metav1.Condition)) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	sort.SliceStable(out, func(i, j int) bool {
		mi, ci := meta(out[i])
		mj, cj := meta(out[j])
		ai, aj := acceptedNow(ci, mi.Generation), acceptedNow(cj, mj.Generation)
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
