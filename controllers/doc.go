// Package controllers holds the cluster-wide controller: it assigns every Node a
// stable index, validates Underlays and L3VNIs together, writes one FRRConfiguration
// per accepted L3VNI for FRR-K8s, and reports status.
//
// Decisions are pure functions over a snapshot of the cluster (evaluate.go,
// validate.go, frrconfiguration.go, status.go); the reconcilers (*_controller.go)
// only read the snapshot from the cache and apply what the decisions say.
package controllers
