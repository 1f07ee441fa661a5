package nodeplumber

import (
	"reflect"
	"sort"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
)

// Isolation on the node: a failure confined to one L3VNI (the kernel refuses
// its devices, FRR refuses its stanza) must not hold back the node's other
// L3VNIs. These pure functions say what the node runs instead; the
// reconciler's run tries it.

// revert returns s with the named L3VNI as the node last ran it (in last, the
// same object), or without it when the node did not run it.
func revert(s State, name string, last *State) State {
	uid := l3vniUID(s, name)
	if last != nil && uid != "" && l3vniUID(*last, name) != uid {
		last = nil // another object under the same name: nothing of it to go back to
	}
	return takeL3VNI(s, name, last)
}

// takeL3VNI returns s with the named L3VNI's devices and stanza taken from
// from (left out when from is nil or lacks it).
func takeL3VNI(s State, name string, from *State) State {
	out := s
	out.L3VNIs, out.FRR.VRFs = nil, nil
	var vrf string
	for _, l := range s.L3VNIs {
		if l.Name == name {
			vrf = l.VRF
			continue
		}
		out.L3VNIs = append(out.L3VNIs, l)
	}
	for _, v := range s.FRR.VRFs {
		if v.Name != vrf || vrf == "" {
			out.FRR.VRFs = append(out.FRR.VRFs, v)
		}
	}
	if from != nil {
		for _, l := range from.L3VNIs {
			if l.Name != name {
				continue
			}
			out.L3VNIs = append(out.L3VNIs, l)
			if v, ok := findVRF(from.FRR.VRFs, l.VRF); ok {
				out.FRR.VRFs = append(out.FRR.VRFs, v)
			}
		}
	}
	out.sort()
	return out
}

// changedL3VNIs names the L3VNIs of s that the node does not run exactly so
// (new ones, and those whose devices or stanza differ from last), sorted.
func changedL3VNIs(s State, last *State) []string {
	var names []string
	for _, l := range s.L3VNIs {
		if last == nil || !reflect.DeepEqual(l3vniOf(s, l.Name), l3vniOf(*last, l.Name)) {
			names = append(names, l.Name)
		}
	}
	sort.Strings(names)
	return names
}

// l3vniPart is all that one L3VNI adds to a State.
type l3vniPart struct {
	L3VNI L3VNIState
	VRF   *frrtemplates.VRF
}

func l3vniOf(s State, name string) *l3vniPart {
	for _, l := range s.L3VNIs {
		if l.Name == name {
			p := &l3vniPart{L3VNI: l}
			if v, ok := findVRF(s.FRR.VRFs, l.VRF); ok {
				p.VRF = &v
			}
			return p
		}
	}
	return nil
}

func l3vniUID(s State, name string) string {
	if p := l3vniOf(s, name); p != nil {
		return string(p.L3VNI.UID)
	}
	return ""
}
