package nodeplumber

import (
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// Keep decides what the node runs when part of the decision cannot run: a failure
// never tears down what works. An object the node runs (in last, the state it last
// applied) stays as it runs while its new version fails here; only an object that
// is gone, or that no longer selects the node, leaves it.
//
//   - The Underlay fails and the node runs that same Underlay: it stays, with the
//     L3VNIs the node runs that still select it; new L3VNIs wait for it.
//   - The Underlay fails and the node runs another one, or none: the node was
//     moved to this Underlay (the old one no longer selects it), so the old one
//     goes and nothing new comes.
//   - No Underlay selects the node any more: the L3VNIs go with it.
//   - An L3VNI fails: the node keeps the version of it that it runs, if any.
func Keep(d Decision, plan placement.NodePlan, last *State) State {
	s := d.State
	if last == nil {
		return s
	}
	selected := map[string]*placement.L3VNI{}
	for _, on := range plan.L3VNIs {
		selected[on.L3VNI.Name] = on.L3VNI
	}
	keepL3VNI := func(name string) {
		if l := selected[name]; l != nil && l3vniUID(*last, name) == string(l.UID) {
			s = takeL3VNI(s, name, last)
		}
	}
	if d.UnderlayProblem != nil {
		if plan.Underlay == nil || last.Underlay.Name != plan.Underlay.Name || last.Underlay.UID != plan.Underlay.UID {
			return s
		}
		s.Underlay, s.FRR.Underlay = last.Underlay, last.FRR.Underlay
		s.L3VNIs, s.FRR.VRFs = nil, nil
		for _, ls := range last.L3VNIs {
			keepL3VNI(ls.Name)
		}
		s.sort()
		return s
	}
	if s.Underlay.Name == "" {
		return s // no Underlay selects the node any more: its L3VNIs go with it
	}
	for name := range d.L3VNIProblems {
		keepL3VNI(name)
	}
	s.sort()
	return s
}

func findVRF(vrfs []frrtemplates.VRF, name string) (frrtemplates.VRF, bool) {
	for _, v := range vrfs {
		if v.Name == name {
			return v, true
		}
	}
	return frrtemplates.VRF{}, false
}
