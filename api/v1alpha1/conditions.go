package v1alpha1

// Condition types reported on Underlay and L3VNI status.
const (
	// ConditionAccepted says whether the object passed validation, alone and against
	// every other Underlay and L3VNI. When False, its reason and message say why.
	ConditionAccepted = "Accepted"
	// ConditionReady says, on an Underlay or L3VNI, whether every selected node
	// runs the current generation; on a RouterNodeStatus, whether the node runs the
	// accepted version of everything that selects it.
	ConditionReady = "Ready"
	// ConditionFRRConfigurationReady (L3VNI only) says whether the generated
	// FRRConfiguration is written and FRR-K8s reports no failure on selected nodes.
	ConditionFRRConfigurationReady = "FRRConfigurationReady"
)

// EventRecovered is the reason of the Event on an object (an L3VNI, an Underlay,
// a node's RouterNodeStatus) that works again after a failure: the controller
// and the plumbers both emit it.
const EventRecovered = "Recovered"

// DefaultNamespace holds the Underlays, L3VNIs and RouterNodeStatuses unless the
// programs are told otherwise (--namespace).
const DefaultNamespace = "frr-k8s-evpn-system"

// Well-known labels and annotations.
const (
	// NodeIndexAnnotation holds the node's index, the lowest free integer assigned
	// by the controller. VTEP, router ID and host-leg addresses derive from it.
	NodeIndexAnnotation = "evpn.frrk8s.dev/node-index"
	// ManagedByLabel marks the objects this project generates.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of ManagedByLabel on generated objects.
	ManagedByValue = "frr-k8s-evpn"
	// L3VNINameLabel and L3VNINamespaceLabel name the L3VNI a generated object belongs to.
	L3VNINameLabel      = "evpn.frrk8s.dev/l3vni"
	L3VNINamespaceLabel = "evpn.frrk8s.dev/l3vni-namespace"
	// Finalizer keeps an L3VNI until its FRRConfiguration, which lives in another
	// namespace and so cannot be garbage-collected through an owner reference, is gone.
	Finalizer = "evpn.frrk8s.dev/frrconfiguration"
)
