package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L3VNISpec describes one EVPN layer-3 VNI terminated on every selected node, and
// the BGP session through which FRR-K8s on the host reaches it.
type L3VNISpec struct {
	// VNI is the VXLAN network identifier of the type-5 routes.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16777215
	VNI int32 `json:"vni"`

	// VRF is the Linux VRF name in the router namespace; metadata.name when unset.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`
	// +kubebuilder:validation:XValidation:rule="!(self in ['default', 'lo'])",message="default is FRR's own VRF and lo every namespace's loopback: pick another VRF name"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(br|vx|pe|hs)[0-9]+$')",message="br<N>, vx<N>, pe<N> and hs<N> are the names of the devices the plumber makes for each VNI: pick another VRF name"
	// +optional
	VRF string `json:"vrf,omitempty"`

	// RouteDistinguisher of the VRF's routes; FRR's automatic value when unset.
	// +kubebuilder:validation:MaxLength=26
	// +kubebuilder:validation:Pattern=`^([0-9]{1,10}|[0-9]{1,3}(\.[0-9]{1,3}){3}):[0-9]{1,10}$`
	// +kubebuilder:validation:XValidation:rule="!self.split(':')[0].contains('.') || (isIP(self.split(':')[0]) && int(self.split(':')[1]) <= 65535)",message="IPv4:NN needs a valid IPv4 address and NN at most 65535"
	// +kubebuilder:validation:XValidation:rule="self.split(':')[0].contains('.') || (int(self.split(':')[0]) <= 65535 ? int(self.split(':')[1]) <= 4294967295 : (int(self.split(':')[0]) <= 4294967295 && int(self.split(':')[1]) <= 65535))",message="ASN:NN takes NN up to 4294967295 after a 2-byte ASN (up to 65535), and up to 65535 after a 4-byte ASN (up to 4294967295)"
	// +optional
	RouteDistinguisher string `json:"routeDistinguisher,omitempty"`

	// ImportRouteTargets are imported into the VRF; FRR's automatic value when empty.
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +optional
	ImportRouteTargets []RouteTarget `json:"importRouteTargets,omitempty"`

	// ExportRouteTargets are attached to the VRF's routes; FRR's automatic value when empty.
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	// +optional
	ExportRouteTargets []RouteTarget `json:"exportRouteTargets,omitempty"`

	// HostSession is the BGP session between the router's VRF and FRR-K8s on the host.
	HostSession HostSession `json:"hostSession"`

	// FRRK8s shapes the FRRConfiguration generated for FRR-K8s.
	// +kubebuilder:default={}
	// +optional
	FRRK8s FRRK8sSpec `json:"frrK8s,omitempty"`

	// MTU of the VRF's veth pair and bridge; the underlay NIC's MTU minus the
	// 50 bytes of VXLAN overhead when unset.
	// +kubebuilder:validation:Minimum=1280
	// +kubebuilder:validation:Maximum=9216
	// +optional
	MTU *int32 `json:"mtu,omitempty"`

	// NodeSelector selects the nodes this L3VNI applies to; all nodes when empty.
	// Every selected node must be selected by an Underlay.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`
}

// RouteTarget is a BGP extended community, ASN:NN or IPv4:NN.
// +kubebuilder:validation:MaxLength=26
// +kubebuilder:validation:Pattern=`^([0-9]{1,10}|[0-9]{1,3}(\.[0-9]{1,3}){3}):[0-9]{1,10}$`
// +kubebuilder:validation:XValidation:rule="!self.split(':')[0].contains('.') || (isIP(self.split(':')[0]) && int(self.split(':')[1]) <= 65535)",message="IPv4:NN needs a valid IPv4 address and NN at most 65535"
// +kubebuilder:validation:XValidation:rule="self.split(':')[0].contains('.') || (int(self.split(':')[0]) <= 65535 ? int(self.split(':')[1]) <= 4294967295 : (int(self.split(':')[0]) <= 4294967295 && int(self.split(':')[1]) <= 65535))",message="ASN:NN takes NN up to 4294967295 after a 2-byte ASN (up to 65535), and up to 65535 after a 4-byte ASN (up to 4294967295)"
type RouteTarget string

// HostSession is the router-to-host BGP session carried by the L3VNI's veth pair.
type HostSession struct {
	// ASN is the router's ASN in this VRF; the Underlay's ASN when unset.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:Format=int64
	// +optional
	ASN *int64 `json:"asn,omitempty"`

	// HostASN is FRR-K8s's ASN on the host. FRR-K8s allows one ASN per router, so
	// every L3VNI, and MetalLB or any other FRR-K8s user, must use the same one.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:Format=int64
	HostASN int64 `json:"hostASN"`

	// LocalCIDR addresses the veth pair: the router leg is the first host of the
	// CIDR on every node, the host leg is host index+2.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="localCIDR is immutable: every node's host leg derives from it; create a new L3VNI instead"
	LocalCIDR LocalCIDR `json:"localCIDR"`
}

// LocalCIDR holds the veth pair's IPv4 and/or IPv6 ranges.
// +kubebuilder:validation:XValidation:rule="has(self.ipv4) || has(self.ipv6)",message="localCIDR needs ipv4, ipv6 or both"
type LocalCIDR struct {
	// +kubebuilder:validation:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 4",message="localCIDR.ipv4 must be an IPv4 CIDR such as 192.169.10.0/24"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="localCIDR.ipv4 must be a network address (host bits zero)"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() <= 30",message="localCIDR.ipv4 must be /30 or larger: it holds the router leg and at least one host leg"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() >= 16",message="localCIDR.ipv4 must be /16 or narrower: its connected route on every selected node's host leg would capture the node's own traffic"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).ip().isGlobalUnicast()",message="localCIDR.ipv4 must be a unicast range: not link-local (169.254.0.0/16), loopback, multicast or unspecified"
	// +optional
	IPv4 string `json:"ipv4,omitempty"`
	// +kubebuilder:validation:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 6",message="localCIDR.ipv6 must be an IPv6 CIDR such as fd00:10::/64"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="localCIDR.ipv6 must be a network address (host bits zero)"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() <= 126",message="localCIDR.ipv6 must be /126 or larger: it holds the router leg and at least one host leg"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() >= 64",message="localCIDR.ipv6 must be /64 or narrower: its connected route on every selected node's host leg would capture the node's own traffic"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).ip().isGlobalUnicast()",message="localCIDR.ipv6 must be a unicast range: not link-local (fe80::/10), loopback, multicast or unspecified"
	// +optional
	IPv6 string `json:"ipv6,omitempty"`
}

// FRRK8sSpec shapes the generated FRRConfiguration.
// +kubebuilder:validation:XValidation:rule="!has(self.toAdvertise) || !has(self.toAdvertise.prefixes) || self.toAdvertise.prefixes.all(p, has(self.prefixes) && p in self.prefixes)",message="every toAdvertise prefix must be listed in prefixes"
type FRRK8sSpec struct {
	// ConnectTime is FRR-K8s's connect retry towards the router. FRR-K8s never
	// accepts incoming sessions and retries every 120 s by default, so a restarted
	// router waits that long for its host session; a few seconds is better. FRR-K8s
	// merges sessions to the same neighbor only when their connect times agree:
	// give MetalLB's BGPPeer (spec.connectTime) the same value. Unset means
	// FRR-K8s's default, which is what a BGPPeer without one uses too.
	// +kubebuilder:validation:XValidation:rule="duration(self).getSeconds() >= 1 && duration(self).getSeconds() <= 65535",message="connectTime must be between 1s and 65535s (FRR-K8s's own limits)"
	// +kubebuilder:validation:XValidation:rule="duration(self).getMilliseconds() % 1000 == 0",message="connectTime must be a whole number of seconds (FRR-K8s's own rule)"
	// +optional
	ConnectTime *metav1.Duration `json:"connectTime,omitempty"`

	// Namespace is FRR-K8s's namespace, where the FRRConfiguration is written.
	// Unset means the controller's --frrk8s-namespace (frr-k8s-system by default),
	// the only namespace it has the rights to write to; another value is rejected.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// ToReceive says which prefixes FRR-K8s accepts from the router: all by default.
	// +kubebuilder:default={mode: all}
	// +optional
	ToReceive *PrefixFilter `json:"toReceive,omitempty"`

	// ToAdvertise says which prefixes FRR-K8s announces to the router: none by
	// default, because other FRR-K8s users (MetalLB, ...) add theirs by merging their
	// own FRRConfiguration for the same neighbor.
	// +kubebuilder:default={mode: filtered}
	// +optional
	ToAdvertise *PrefixFilter `json:"toAdvertise,omitempty"`

	// Prefixes are extra prefixes the host's router declares (spec.bgp.routers[0].prefixes).
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	// +optional
	Prefixes []CIDR `json:"prefixes,omitempty"`

	// BFDProfile enables BFD on the host session with these timers.
	// +optional
	BFDProfile *BFDProfile `json:"bfdProfile,omitempty"`

	// NodeSelector narrows the nodes where FRR-K8s speaks this L3VNI's host
	// session to those of spec.nodeSelector's nodes it also selects; all of them
	// when unset. On the other selected nodes the router still has its VRF and
	// leg, and waits for a BGP speaker you run on the host (BIRD, Calico's BIRD,
	// ...): it must peer from the node's host leg with the router leg, as AS
	// hostSession.hostASN (docs/speakers.md). The generated FRRConfiguration
	// selects the nodes both selectors match.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`
}

// CIDR is an IPv4 or IPv6 prefix.
// +kubebuilder:validation:MaxLength=43
// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="must be a CIDR such as 10.244.0.0/24"
type CIDR string

// PrefixFilter is "all" or a list of prefixes ("filtered", empty = none).
// +kubebuilder:validation:XValidation:rule="self.mode != 'all' || !has(self.prefixes) || size(self.prefixes) == 0",message="prefixes must be empty when mode is all"
type PrefixFilter struct {
	// +kubebuilder:validation:Enum=all;filtered
	Mode string `json:"mode"`
	// +kubebuilder:validation:MaxItems=256
	// +listType=set
	// +optional
	Prefixes []CIDR `json:"prefixes,omitempty"`
}

// Modes of a PrefixFilter.
const (
	PrefixModeAll      = "all"
	PrefixModeFiltered = "filtered"
)

// BFDProfile holds BFD timers; FRR's defaults where unset.
type BFDProfile struct {
	// Name of the profile in FRR-K8s.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`
	Name string `json:"name"`
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	// +optional
	ReceiveInterval *int32 `json:"receiveInterval,omitempty"`
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	// +optional
	TransmitInterval *int32 `json:"transmitInterval,omitempty"`
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=255
	// +optional
	DetectMultiplier *int32 `json:"detectMultiplier,omitempty"`
}

// L3VNIStatus is what the controller observed of an L3VNI.
type L3VNIStatus struct {
	// Conditions: Accepted, Ready and FRRConfigurationReady.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Accepted is the version nodes run: the current spec once the controller
	// accepted it, and the last accepted one while a newer generation is rejected.
	// Only the controller writes it; the plumbers read it, never spec.
	// +optional
	Accepted *AcceptedL3VNI `json:"accepted,omitempty"`

	// VRF is the effective VRF name (spec.vrf or metadata.name).
	// +optional
	VRF string `json:"vrf,omitempty"`
	// FRRConfiguration is the namespace/name of the generated FRRConfiguration.
	// +optional
	FRRConfiguration string `json:"frrConfiguration,omitempty"`
	// SelectedNodes is the number of nodes this L3VNI selects.
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

// AcceptedL3VNI is the accepted version of an L3VNI.
type AcceptedL3VNI struct {
	// Generation is the metadata.generation this spec had.
	Generation int64 `json:"generation"`
	// Spec is the spec at that generation.
	Spec L3VNISpec `json:"spec"`
	// RouterASN is the router's ASN in the VRF on every node, and the ASN the
	// FRRConfiguration peers with: hostSession.asn, or else the Underlays' ASN
	// when the L3VNI was accepted.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +kubebuilder:validation:Format=int64
	RouterASN int64 `json:"routerASN"`
}

// L3VNI is one EVPN layer-3 VNI with its VRF on every selected node, and the host
// session that lets FRR-K8s users reach it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=evpn
// +kubebuilder:validation:XValidation:rule="has(self.spec.vrf) || size(self.metadata.name) <= 15",message="spec.vrf is required when metadata.name is longer than 15 characters (a VRF name is a Linux interface name)"
// +kubebuilder:validation:XValidation:rule="has(self.spec.vrf) || !(self.metadata.name in ['default', 'lo'] || self.metadata.name.matches('^(br|vx|pe|hs)[0-9]+$') || self.metadata.name.contains('.'))",message="metadata.name cannot be the VRF name (FRR's default, lo, a device the plumber makes, or a dotted name): set spec.vrf"
// +kubebuilder:printcolumn:name="VNI",type=integer,JSONPath=`.spec.vni`
// +kubebuilder:printcolumn:name="VRF",type=string,JSONPath=`.status.vrf`
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=`.status.conditions[?(@.type=="Accepted")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failedNodes`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L3VNI struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   L3VNISpec   `json:"spec"`
	Status L3VNIStatus `json:"status,omitempty"`
}

// EffectiveVRF is spec.vrf, or metadata.name when unset.
func (l *L3VNI) EffectiveVRF() string {
	if l.Spec.VRF != "" {
		return l.Spec.VRF
	}
	return l.Name
}

// L3VNIList is a list of L3VNIs.
// +kubebuilder:object:root=true
type L3VNIList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L3VNI `json:"items"`
}

func init() {
	SchemeBuilder.Register(&L3VNI{}, &L3VNIList{})
}
