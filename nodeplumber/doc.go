// Package nodeplumber holds the per-node half of frr-k8s-evpn. desired.go decides,
// without I/O, what one node needs (devices, addresses, the router's FRR config) from
// the Underlay and L3VNIs that select it; the appliers (netlink, reloader client,
// status) carry it out.
package nodeplumber
