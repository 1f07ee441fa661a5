package controllers

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
)

// indexAllocator hands out node indexes: the lowest free integer, and the index a
// node already carries in its annotation whenever that index is not taken by
// another node. It is pure bookkeeping; the reconciler writes the annotations.
type indexAllocator struct {
	byNode  map[string]int
	byIndex map[int]string
}

func newIndexAllocator() *indexAllocator {
	return &indexAllocator{byNode: map[string]int{}, byIndex: map[int]string{}}
}

// load registers the indexes that existing nodes already carry. When two nodes
// claim one index (someone edited an annotation), the older node keeps it and the
// other is left without, to be given a new one.
func (a *indexAllocator) load(nodes []metav1.PartialObjectMetadata) {
	sorted := make([]*metav1.PartialObjectMetadata, len(nodes))
	for i := range nodes {
		sorted[i] = &nodes[i]
	}
	sort.Slice(sorted, func(i, j int) bool {
		ti, tj := sorted[i].CreationTimestamp, sorted[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return sorted[i].Name < sorted[j].Name
	})
	for _, n := range sorted {
		if idx, ok := addressing.ParseNodeIndex(n.Annotations); ok {
			if _, taken := a.byIndex[idx]; !taken {
				a.assign(n.Name, idx)
			}
		}
	}
}

// indexFor returns the index the node must carry and whether its annotation must be
// (re)written: its current annotation when valid and its own, else the lowest free.
func (a *indexAllocator) indexFor(node string, annotations map[string]string) (idx int, write bool) {
	if cur, ok := a.byNode[node]; ok {
		got, valid := addressing.ParseNodeIndex(annotations)
		return cur, !valid || got != cur
	}
	if got, valid := addressing.ParseNodeIndex(annotations); valid {
		if _, taken := a.byIndex[got]; !taken {
			a.assign(node, got)
			return got, false
		}
	}
	idx = 0
	for {
		if _, taken := a.byIndex[idx]; !taken {
			break
		}
		idx++
	}
	a.assign(node, idx)
	return idx, true
}

func (a *indexAllocator) assign(node string, idx int) {
	a.byNode[node] = idx
	a.byIndex[idx] = node
}

// release frees the index of a node that is gone.
func (a *indexAllocator) release(node string) {
	if idx, ok := a.byNode[node]; ok {
		delete(a.byNode, node)
		delete(a.byIndex, idx)
	}
}
