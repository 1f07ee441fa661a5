package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RouterNodeStatusStatus is what one node's plumber applied.
type RouterNodeStatusStatus struct {
	// NodeName is the node this status belongs to (also the object's name).
	// +optional
	NodeName string `json:"nodeName,omitempty"`
	// NodeIndex is the node index the router's addresses derive from. The
	// controller keeps it reserved while this object exists, so that a deleted
	// node's VTEP is not handed to another node while its router may still run.
	// +optional
	NodeIndex *int32 `json:"nodeIndex,omitempty"`
	// Conditions: Ready (the node runs the accepted version of everything that
	// selects it), with the reason and the text of the first failure when not.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Netns is the router's named network namespace.
	// +optional
	Netns string `json:"netns,omitempty"`
	// NICs are the underlay interfaces moved into the netns.
	// +listType=set
	// +optional
	NICs []string `json:"nics,omitempty"`
	// VTEPIP is this node's VTEP address.
	// +optional
	VTEPIP string `json:"vtepIP,omitempty"`
	// RouterID is this node's BGP router ID.
	// +optional
	RouterID string `json:"routerID,omitempty"`
	// Underlay is the Underlay the node runs, with its generation.
	// +optional
	Underlay *UnderlayNodeState `json:"underlay,omitempty"`
	// L3VNIs are the L3VNIs applied on this node.
	// +listType=map
	// +listMapKey=name
	// +optional
	L3VNIs []L3VNINodeState `json:"l3vnis,omitempty"`
	// LastReload is the outcome of the last FRR reload.
	// +optional
	LastReload *ReloadResult `json:"lastReload,omitempty"`
	// Fabric are the router's BGP sessions to the fabric (leaves or route
	// reflectors), as its FRR reports them. Read every live-status interval and
	// written only when a state or a count changed.
	// +listType=map
	// +listMapKey=peer
	// +optional
	Fabric []BGPSessionStatus `json:"fabric,omitempty"`
	// FabricSessions sums Fabric up: "established/configured" ("1/2").
	// +optional
	FabricSessions string `json:"fabricSessions,omitempty"`
	// RemoteVTEPs counts the distinct VTEPs that any of the node's L3VNIs
	// sends VXLAN to.
	// +optional
	RemoteVTEPs *int32 `json:"remoteVTEPs,omitempty"`
	// LiveError says why the router's FRR could not be read (it restarts, or
	// the router pod is not running); the live fields are then absent.
	// +optional
	LiveError string `json:"liveError,omitempty"`
}

// BGPSessionStatus is one BGP session of the router.
type BGPSessionStatus struct {
	// Peer is the neighbor's address.
	Peer string `json:"peer"`
	// State is FRR's: Established, Active, Connect, Idle, OpenSent, OpenConfirm.
	State string `json:"state"`
	// Since is when the session was established; absent when it is not.
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// PrefixesReceived counts the prefixes received (EVPN routes on a fabric
	// session, unicast prefixes on a host-leg session).
	PrefixesReceived int32 `json:"prefixesReceived"`
}

// L3VNIEVPNState is what the router's FRR says about one L3VNI.
type L3VNIEVPNState struct {
	// VNIState is zebra's state of the VNI: Up once its VRF, VXLAN device
	// and bridge exist and are up.
	VNIState string `json:"vniState"`
	// RouterMAC is the MAC this node advertises for the VRF.
	// +optional
	RouterMAC string `json:"routerMAC,omitempty"`
	// RemoteVTEPs are the VTEPs the VRF has router MACs for.
	// +listType=set
	// +optional
	RemoteVTEPs []string `json:"remoteVTEPs,omitempty"`
	// Type5Advertised counts the type-5 routes the node originates for the VNI.
	Type5Advertised int32 `json:"type5Advertised"`
	// Type5Received counts the VRF's prefixes imported from the fabric.
	Type5Received int32 `json:"type5Received"`
	// HostSessions are the router's sessions to FRR-K8s on the host leg.
	// +listType=map
	// +listMapKey=peer
	// +optional
	HostSessions []BGPSessionStatus `json:"hostSessions,omitempty"`
}

// UnderlayNodeState is the Underlay's state on one node.
type UnderlayNodeState struct {
	// Name of the Underlay.
	Name string `json:"name"`
	// ObservedGeneration is the Underlay generation the node runs.
	ObservedGeneration int64 `json:"observedGeneration"`
	// Ready is true when the node runs the Underlay's accepted generation.
	// +optional
	Ready bool `json:"ready,omitempty"`
	// Message says what is wrong when not ready.
	// +optional
	Message string `json:"message,omitempty"`
}

// L3VNINodeState is one L3VNI's state on one node.
type L3VNINodeState struct {
	// Name of the L3VNI.
	Name string `json:"name"`
	// ObservedGeneration is the L3VNI generation these devices and FRR stanzas
	// match (0: the node runs none yet).
	ObservedGeneration int64 `json:"observedGeneration"`
	// VNI, VRF and HostLeg as applied.
	// +optional
	VNI int32 `json:"vni,omitempty"`
	// +optional
	VRF string `json:"vrf,omitempty"`
	// +optional
	HostLeg []string `json:"hostLeg,omitempty"`
	// Ready is true when the node runs the L3VNI's accepted generation: the
	// devices exist and FRR accepted the configuration.
	Ready bool `json:"ready"`
	// Message says what is wrong when not ready.
	// +optional
	Message string `json:"message,omitempty"`
	// EVPN is the L3VNI as the router's FRR runs it (absent until read, or
	// when FRR does not run it).
	// +optional
	EVPN *L3VNIEVPNState `json:"evpn,omitempty"`
}

// ReloadResult is the outcome of one FRR reload.
type ReloadResult struct {
	// +optional
	Time metav1.Time `json:"time,omitempty"`
	// +kubebuilder:validation:Enum=success;failure
	Result string `json:"result"`
	// Message is FRR's own error text on failure.
	// +optional
	Message string `json:"message,omitempty"`
}

// Values of ReloadResult.Result.
const (
	ReloadSuccess = "success"
	ReloadFailure = "failure"
)

// RouterNodeStatus reports what the plumber of one node applied. Its name is the
// node's name and only that node's plumber writes it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=evpn
// +kubebuilder:printcolumn:name="VTEP",type=string,JSONPath=`.status.vtepIP`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Reload",type=string,JSONPath=`.status.lastReload.result`
// +kubebuilder:printcolumn:name="Fabric",type=string,JSONPath=`.status.fabricSessions`
// +kubebuilder:printcolumn:name="Remote-VTEPs",type=integer,JSONPath=`.status.remoteVTEPs`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RouterNodeStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status RouterNodeStatusStatus `json:"status,omitempty"`
}

// RouterNodeStatusList is a list of RouterNodeStatus.
// +kubebuilder:object:root=true
type RouterNodeStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RouterNodeStatus `json:"items"`
}

func init() {
	SchemeBuilder.Register(&RouterNodeStatus{}, &RouterNodeStatusList{})
}
