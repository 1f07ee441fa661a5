// Package nodeplumber holds the per-node half of frr-k8s-evpn. Its decisions are
// pure: desired.go computes what one node needs (devices, addresses, the router's
// FRR config) from its placement (package placement, over the versions the
// controller published), keep.go what stays of what it runs when part of that
// fails, status.go what its RouterNodeStatus says. The effects carry them out:
// kernel.go (netlink), cleanup.go (uninstall), reconciler.go (reads, reloads
// through the router's reloader, status writes).
package nodeplumber
