package controllers

import (
	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// World is a snapshot of everything the L3VNI and Underlay decisions depend on.
type World struct {
	Underlays []evpnv1.Underlay
	L3VNIs    []evpnv1.L3VNI
	// Nodes carry their labels and index; RunningUnderlay is filled from
	// RouterStatuses by Evaluate.
	Nodes []placement.Node
	// RouterStatuses and FRRNodeStates are keyed by node name.
	RouterStatuses map[string]*evpnv1.RouterNodeStatus
	FRRNodeStates  map[string]*frrv1beta1.FRRNodeState
	// FRRConfigurations are the generated ones that exist, keyed by their
	// OwnerAnnotation ("namespace/name" of the L3VNI).
	FRRConfigurations map[string]*frrv1beta1.FRRConfiguration
	// Secrets are the names of the Secrets in the namespace, which a new
	// Underlay generation's password Secrets must be among (nil: not checked).
	Secrets map[string]bool
	// PlumberSecretsRole is the Role that grants node plumbers their password
	// Secrets (nil when it does not exist).
	PlumberSecretsRole *rbacv1.Role
	// Networks are the cluster's service, pod and node ranges, which a new
	// L3VNI generation's localCIDR must not overlap.
	Networks []placement.Network
	// FRRK8sNamespace is where this controller writes FRRConfigurations.
	FRRK8sNamespace string
	// FRRK8sMissing is true when FRR-K8s's CRDs are not installed: no
	// FRRConfiguration can be written, and L3VNIs say so.
	FRRK8sMissing bool
}
