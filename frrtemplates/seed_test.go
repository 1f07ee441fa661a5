package frrtemplates

import (
	"os"
	"strings"
	"testing"
)

// blogStanzas is the EVPN side of the seed blog's hand-written frr.conf
// (shared/seeds/000_*.txt), stanza by stanza, with the host leg at 192.169.10.2
// (node index 0) where the blog's lab used 192.169.10.0. Two lines of the blog are
// left out on purpose: "advertise-svi-ip" announces SVI addresses of L2VNIs, which
// this project does not create, and the duplicate "activate" line.
var blogStanzas = map[string][]string{
	"vrf red": {"vni 100"},
	"router bgp 64512": {
		"neighbor 192.168.11.2 remote-as 64612",
		"address-family ipv4 unicast", "neighbor 192.168.11.2 activate", "network 100.65.0.1/32",
		"address-family l2vpn evpn", "neighbor 192.168.11.2 allowas-in origin", "advertise-all-vni",
	},
	"router bgp 64512 vrf red": {
		"neighbor 192.169.10.2 remote-as 64515",
		"address-family ipv4 unicast", "neighbor 192.169.10.2 activate",
		"neighbor 192.169.10.2 route-map allowall in", "neighbor 192.169.10.2 route-map allowall out",
		"address-family l2vpn evpn", "advertise ipv4 unicast",
	},
}

// TestSeedLabMatchesTheBlog checks that the seed lab's rendered configuration has
// every session, address family, VNI binding and route handling of the blog's.
func TestSeedLabMatchesTheBlog(t *testing.T) {
	b, err := os.ReadFile("testdata/seed_lab.golden")
	if err != nil {
		t.Fatal(err)
	}
	stanzas := map[string][]string{}
	var current string
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case line == "" || line == "!" || line == "exit" || line == "exit-vrf":
			current = ""
		case !strings.HasPrefix(line, " "):
			current = line
		case current != "":
			stanzas[current] = append(stanzas[current], strings.TrimSpace(line))
		}
	}
	for header, want := range blogStanzas {
		have := strings.Join(stanzas[header], "\n") + "\n"
		for _, l := range want {
			if !strings.Contains(have, l+"\n") {
				t.Errorf("stanza %q lacks the blog's %q", header, l)
			}
		}
	}
}

// TestRoutersAcceptEachOthersVTEPs checks the rule that makes two nodes reach each
// other over VXLAN: every node's router has the same ASN, so each fabric session
// must accept that ASN in the path of IPv4 routes (the other nodes' VTEP /32s) and
// of EVPN routes (their type-5 routes). The seed blog had one node and did not need
// it for IPv4.
func TestRoutersAcceptEachOthersVTEPs(t *testing.T) {
	b, err := os.ReadFile("testdata/seed_lab.golden")
	if err != nil {
		t.Fatal(err)
	}
	var family string
	accepts := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		switch l := strings.TrimSpace(line); {
		case strings.HasPrefix(l, "router bgp ") && strings.Contains(l, " vrf "):
			family = "" // the VRFs' sessions are the host legs'
		case strings.HasPrefix(l, "address-family "):
			family = strings.TrimPrefix(l, "address-family ")
		case l == "exit-address-family":
			family = ""
		case family != "" && l == "neighbor 192.168.11.2 allowas-in origin":
			accepts[family] = true
		}
	}
	for _, f := range []string{"ipv4 unicast", "l2vpn evpn"} {
		if !accepts[f] {
			t.Errorf("the fabric session does not accept routes with the routers' own ASN in %s", f)
		}
	}
}
