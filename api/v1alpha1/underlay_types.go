package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UnderlaySpec describes how the router of each selected node joins the EVPN fabric.
type UnderlaySpec struct {
	// NodeSelector selects the nodes this Underlay applies to; all nodes when empty.
	// At most one Underlay may select any node.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// ASN is the router's autonomous system number towards the fabric.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:Format=int64
	ASN int64 `json:"asn"`

	// NICs are the host interfaces moved into the router's network namespace.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +listType=set
	NICs []InterfaceName `json:"nics"`

	// Neighbors are the fabric BGP peers (leaves or route reflectors).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=address
	Neighbors []Neighbor `json:"neighbors"`

	// VTEPCIDR is the IPv4 range of the VTEP addresses: a node's VTEP is host
	// index+1 of it, a /32 on the router namespace's loopback.
	// +kubebuilder:validation:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 4",message="vtepCIDR must be an IPv4 CIDR such as 100.65.0.0/24"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="vtepCIDR must be a network address (host bits zero)"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() <= 31",message="vtepCIDR must hold at least one node's VTEP: /31 or larger"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).ip().isGlobalUnicast()",message="vtepCIDR must be a unicast range: not loopback, link-local, multicast or unspecified"
	VTEPCIDR string `json:"vtepCIDR"`

	// RouterIDCIDR is the IPv4 range of the BGP router IDs: a node's router ID is
	// host index+1 of it.
	// +kubebuilder:default="10.0.0.0/24"
	// +kubebuilder:validation:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 4",message="routerIDCIDR must be an IPv4 CIDR such as 10.0.0.0/24"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="routerIDCIDR must be a network address (host bits zero)"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() <= 31",message="routerIDCIDR must hold at least one node's router ID: /31 or larger"
	// +optional
	RouterIDCIDR string `json:"routerIDCIDR,omitempty"`

	// VXLANPort is the UDP destination port of the VXLAN devices.
	// +kubebuilder:default=4789
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	VXLANPort int32 `json:"vxlanPort,omitempty"`
}

// InterfaceName is the Linux name of a NIC to move into the router's netns.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=15
// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`
// +kubebuilder:validation:XValidation:rule="self != 'lo'",message="lo is every namespace's loopback, not a NIC to move"
// +kubebuilder:validation:XValidation:rule="!self.matches('^(br|vx|pe|hs)[0-9]+$')",message="br<N>, vx<N>, pe<N> and hs<N> are the names of the devices the plumber makes for each VNI"
type InterfaceName string

// Neighbor is a BGP peer of the router in the fabric.
// +kubebuilder:validation:XValidation:rule="!has(self.holdTime) || !has(self.keepaliveTime) || duration(self.holdTime) == duration('0s') || duration(self.keepaliveTime) <= duration(self.holdTime)",message="keepaliveTime must not exceed holdTime"
// +kubebuilder:validation:XValidation:rule="!has(self.keepaliveTime) || has(self.holdTime) || duration(self.keepaliveTime) <= duration('21845s')",message="keepaliveTime alone must be at most 21845s: the hold time is 3 times it, at most 65535s"
type Neighbor struct {
	// Address is the peer's IP address.
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="address must be an IPv4 or IPv6 address"
	Address string `json:"address"`

	// ASN is the peer's autonomous system number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:Format=int64
	ASN int64 `json:"asn"`

	// Port is the peer's BGP port; 179 when unset.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port *int32 `json:"port,omitempty"`

	// HoldTime is the BGP hold time; FRR's default (180s) when unset.
	// +kubebuilder:validation:XValidation:rule="duration(self) == duration('0s') || (duration(self) >= duration('3s') && duration(self) <= duration('65535s'))",message="holdTime must be 0 or between 3s and 65535s"
	// +optional
	HoldTime *metav1.Duration `json:"holdTime,omitempty"`

	// KeepaliveTime is the BGP keepalive interval; FRR's default (60s) when unset.
	// Without holdTime, the hold time is 3 times it.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('65535s')",message="keepaliveTime must be between 0s and 65535s"
	// +optional
	KeepaliveTime *metav1.Duration `json:"keepaliveTime,omitempty"`

	// BFD enables BFD on the session with FRR's default timers.
	// +optional
	BFD bool `json:"bfd,omitempty"`

	// EBGPMultiHop allows an eBGP peer that is not directly connected.
	// +optional
	EBGPMultiHop bool `json:"ebgpMultiHop,omitempty"`

	// PasswordSecret names a Secret in the Underlay's namespace whose "password"
	// key holds the session's TCP MD5 password.
	// +optional
	PasswordSecret *SecretRef `json:"passwordSecret,omitempty"`
}

// SecretRef names a Secret in the referring object's namespace.
type SecretRef struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// UnderlayStatus is what the controller observed of an Underlay.
type UnderlayStatus struct {
	// Conditions: Accepted and Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Accepted is the version nodes run: the current spec once the controller
	// accepted it, and the last accepted one while a newer generation is rejected.
	// Only the controller writes it; the plumbers read it, never spec.
	// +optional
	Accepted *AcceptedUnderlay `json:"accepted,omitempty"`

	// SelectedNodes is the number of nodes this Underlay selects.
	// +optional
	SelectedNodes int32 `json:"selectedNodes,omitempty"`
	// ReadyNodes is the number of selected nodes whose router applied this generation.
	// +optional
	ReadyNodes int32 `json:"readyNodes,omitempty"`
	// FailedNodes is the number of selected nodes that cannot run the accepted
	// version (the Ready condition names them and says why).
	// +optional
	FailedNodes int32 `json:"failedNodes,omitempty"`
	// Ready is ReadyNodes/SelectedNodes, for kubectl.
	// +optional
	Ready string `json:"ready,omitempty"`
}

// AcceptedUnderlay is the accepted version of an Underlay.
type AcceptedUnderlay struct {
	// Generation is the metadata.generation this spec had.
	Generation int64 `json:"generation"`
	// Spec is the spec at that generation.
	Spec UnderlaySpec `json:"spec"`
}

// Underlay is the fabric side of the router of every node it selects: the NICs it
// owns, its ASN, VTEP and router ID ranges and its BGP neighbors.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=evpn
// +kubebuilder:printcolumn:name="ASN",type=integer,JSONPath=`.spec.asn`
// +kubebuilder:printcolumn:name="VTEP CIDR",type=string,JSONPath=`.spec.vtepCIDR`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failedNodes`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Underlay struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   UnderlaySpec   `json:"spec"`
	Status UnderlayStatus `json:"status,omitempty"`
}

// UnderlayList is a list of Underlays.
// +kubebuilder:object:root=true
type UnderlayList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Underlay `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Underlay{}, &UnderlayList{})
}
