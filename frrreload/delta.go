package frrreload

import (
	"strings"
)

// stanza is one top-level block of a configuration ("router bgp 64512 vrf red"
// to its "exit"), or one top-level line ("bgp graceful-restart").
type stanza struct {
	head string // the first line
	text string // every line, the first included
}

// splitStanzas splits a configuration into its top-level blocks and lines; "!" lines
// separate them and are dropped.
func splitStanzas(config string) []stanza {
	var out []stanza
	var cur *stanza
	for _, line := range strings.SplitAfter(config, "\n") {
		trimmed := strings.TrimRight(line, "\n")
		switch {
		case trimmed == "" || trimmed == "!":
			continue
		case strings.HasPrefix(trimmed, " "):
			if cur != nil {
				cur.text += line
			}
			continue
		}
		if cur != nil && (trimmed == "exit" || trimmed == "exit-vrf") {
			cur.text += line
			cur = nil
			continue
		}
		out = append(out, stanza{head: trimmed, text: line})
		cur = &out[len(out)-1]
	}
	return out
}

// delta is what an L3VNI added or removed changes in the router's configuration:
// whole "vrf NAME" and "router bgp ASN vrf NAME" stanzas, nothing else.
type delta struct {
	add    []stanza // in the new configuration's order
	remove []stanza
}

// wholeStanzaDelta returns the stanzas that next adds to last and those it
// removes, when that is all that changed and every removed stanza is one that
// can be removed on its own (a BGP VRF instance; a VRF's VNI is unbound first and
// its empty "vrf" stanza stays, as frr-reload.py leaves it). ok is false
// otherwise: frr-reload.py then computes the change.
func wholeStanzaDelta(last, next string) (d delta, ok bool) {
	old := map[string]string{}
	for _, s := range splitStanzas(last) {
		old[s.head] = s.text
	}
	seen := map[string]bool{}
	for _, s := range splitStanzas(next) {
		seen[s.head] = true
		prev, had := old[s.head]
		switch {
		case !had:
			d.add = append(d.add, s)
		case prev != s.text:
			return delta{}, false // a stanza both have changed
		}
	}
	for _, s := range splitStanzas(last) {
		if seen[s.head] {
			continue
		}
		if !removable(s.head) {
			return delta{}, false
		}
		d.remove = append(d.remove, s)
	}
	return d, true
}

// removable: stanzas a "no" of their head removes whole.
func removable(head string) bool {
	return strings.HasPrefix(head, "router bgp ") && strings.Contains(head, " vrf ") || strings.HasPrefix(head, "vrf ")
}

// commands are the vtysh configure-mode lines that remove d's stanzas: the BGP
// VRF instances ("no router bgp ..."). A removed VRF's VNI is unbound before
// (droppedVNIs), and its then empty "vrf" stanza is left.
func (d delta) removeCommands() []string {
	var out []string
	for _, s := range d.remove {
		if strings.HasPrefix(s.head, "router bgp ") {
			out = append(out, "no "+s.head)
		}
	}
	return out
}

// addConfig is a configuration of d's added stanzas, the VRFs' VNIs first (see
// reload: zebra must know an L3VNI before bgpd's stanzas that use it).
func (d delta) addConfig() string {
	var vrfs, rest strings.Builder
	for _, s := range d.add {
		if strings.HasPrefix(s.head, "vrf ") {
			vrfs.WriteString(s.text)
		} else {
			rest.WriteString(s.text)
		}
	}
	return vrfs.String() + rest.String()
}
