package controllers

import (
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
)

// indexAllocator hands out node indexes: the lowest free integer, and the index a
// node already carries in its annotation whenever that index is not taken by
// another node. An index whose node is gone stays reserved while the node's router
// may still run (its RouterNodeStatus exists): its VTEP would otherwise go to a
// new node while the old machine still advertises it. A node that comes back under
// the same name gets its reserved index again. It is pure bookkeeping; the
// reconciler writes the annotations.
type indexAllocator struct {
	byNode  map[string]int
	byIndex map[int]string
	// reserved maps the index of a departed node to its name.
	reserved map[int]string
}

func newIndexAllocator() *indexAllocator {
	return &indexAllocator{byNode: map[string]int{}, byIndex: map[int]string{}, reserved: map[int]string{}}
}

// load registers the indexes that existing nodes already carry, then those that
// departed nodes' routers report (routers: node name -> index). When two nodes
// claim one index (someone edited an annotation), the older node keeps it and the
// other is left without, to be given a new one.
func (a *indexAllocator) load(nodes []metav1.PartialObjectMetadata, routers map[string]int) {
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
	names := make([]string, 0, len(routers))
	for name := range routers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, live := a.byNode[name]; !live {
			a.reserve(name, routers[name])
		}
	}
}

// indexFor returns the index the node must carry and whether its annotation must be
// (re)written: its current annotation when valid and its own, else the index it
// had before it left, else the lowest free.
func (a *indexAllocator) indexFor(node string, annotations map[string]string) (idx int, write bool) {
	if cur, ok := a.byNode[node]; ok {
		got, valid := addressing.ParseNodeIndex(annotations)
		return cur, !valid || got != cur
	}
	got, valid := addressing.ParseNodeIndex(annotations)
	if valid && a.free(got, node) {
		a.assign(node, got)
		return got, false
	}
	for idx, name := range a.reserved {
		if name == node {
			a.assign(node, idx)
			return idx, true
		}
	}
	idx = 0
	for !a.free(idx, node) {
		idx++
	}
	a.assign(node, idx)
	return idx, true
}

// free reports whether node may take idx: no live node has it and it is not
// reserved for another departed node.
func (a *indexAllocator) free(idx int, node string) bool {
	if _, taken := a.byIndex[idx]; taken {
		return false
	}
	owner, reserved := a.reserved[idx]
	return !reserved || owner == node
}

func (a *indexAllocator) assign(node string, idx int) {
	delete(a.reserved, idx)
	a.byNode[node] = idx
	a.byIndex[idx] = node
}

// depart records that a node is gone. Its index stays reserved when its router
// may still run (routerIndex >= 0: its RouterNodeStatus exists with that index),
// and is freed otherwise.
func (a *indexAllocator) depart(node string, routerIndex int, hasRouter bool) {
	idx, live := a.byNode[node]
	if live {
		delete(a.byNode, node)
		delete(a.byIndex, idx)
	}
	if !hasRouter {
		for i, name := range a.reserved {
			if name == node {
				delete(a.reserved, i)
			}
		}
		return
	}
	if routerIndex < 0 {
		if !live {
			return
		}
		routerIndex = idx
	}
	a.reserve(node, routerIndex)
}

func (a *indexAllocator) reserve(node string, idx int) {
	if _, taken := a.byIndex[idx]; taken {
		return
	}
	a.reserved[idx] = node
}
