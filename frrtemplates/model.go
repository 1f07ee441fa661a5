// Package frrtemplates renders the router's EVPN-side FRR configuration (one
// frr.conf) from a small data model, with text/template files embedded in the
// binary. The model is its own, independent of the Kubernetes API, so that the
// renderer can be golden-tested and fuzzed alone; every string in it is validated
// before it reaches a template, so no input can add a line the templates did not
// intend.
package frrtemplates

// Config is everything one router's frr.conf holds.
type Config struct {
	// Underlay is the default-VRF BGP instance towards the fabric.
	Underlay Underlay
	// VRFs are the L3VNIs terminated on this router; rendered sorted by name.
	VRFs []VRF
}

// Underlay is the fabric side: ASN, router ID, VTEP and neighbors.
type Underlay struct {
	ASN      uint32
	RouterID string // IPv4 address
	// VTEP is the IPv4 address announced as a /32 in ipv4 unicast, so that remote
	// VTEPs can reach this one.
	VTEP      string
	Neighbors []Neighbor
}

// Neighbor is a BGP neighbor of the underlay.
type Neighbor struct {
	Address string // IPv4 or IPv6 address
	ASN     uint32
	// Port is the peer's port; 0 means FRR's default (179).
	Port uint16
	// KeepaliveSeconds and HoldSeconds set timers when HoldSeconds > 0.
	KeepaliveSeconds uint32
	HoldSeconds      uint32
	BFD              bool
	EBGPMultiHop     bool
	// Password is the TCP MD5 password; empty means none.
	Password string
}

// VRF is one L3VNI: the Linux VRF, its VNI and the BGP session with the host.
type VRF struct {
	Name string
	VNI  uint32
	// ASN is the router's ASN in this VRF; RouterID as in the underlay.
	ASN      uint32
	RouterID string
	// RD, ImportRTs and ExportRTs are FRR's automatic values when empty.
	RD        string
	ImportRTs []string
	ExportRTs []string
	// HostNeighbors are the host legs (IPv4 and/or IPv6) FRR-K8s peers from.
	HostNeighbors []HostNeighbor
}

// HostNeighbor is FRR-K8s on the host, seen from the VRF through the veth.
type HostNeighbor struct {
	Address string
	ASN     uint32
}
