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
