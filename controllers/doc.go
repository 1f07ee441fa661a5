// Package controllers holds the cluster-wide controller: it assigns every Node a
// stable index, decides which version of every Underlay and L3VNI nodes run and
// publishes it in their status, writes one FRRConfiguration per accepted L3VNI for
// FRR-K8s, and reports, per object, how the selected nodes fare.
//
// Decisions are pure functions over a snapshot of the cluster (evaluate.go, on top
// of the rules in package placement; frrconfiguration.go; nodeindex.go); the
// reconcilers (*_controller.go) only read the snapshot from the cache and apply
// what the decisions say.
package controllers
