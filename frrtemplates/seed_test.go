package frrtemplates

import (
	"os"
	"strings"
	"testing"
)

// blogStanzas is the EVPN side of the seed blog's hand-written frr.conf
// (shared/seeds/000_*.txt), stanza by stanza, with the host leg at 192.169.10.2
// (node index 0) where the blog's lab used 192.169.10.0. Three lines of the blog are
// left out on purpose: "advertise-svi-ip" announces SVI addresses of L2VNIs, which
// this project does not create, the duplicate "activate" line, and l2vpn evpn's
// "allowas-in origin", which drops the other nodes' routes
// (TestRoutersAcceptEachOthersRoutes).
var blogStanzas = map[string][]string{
	"vrf red": {"vni 100"},
	"router bgp 64512": {
		"neighbor 192.168.11.2 remote-as 64612",
		"address-family ipv4 unicast", "neighbor 192.168.11.2 activate", "network 100.65.0.1/32",
		"address-family l2vpn evpn", "advertise-all-vni",
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

// TestRoutersAcceptEachOthersRoutes checks the rules that make two nodes reach each
// other over VXLAN (the seed blog had one node and needed none of them). Every
// node's router has the same ASN, and every node's host speaker the same hostASN:
//   - the other nodes' VTEP /32s arrive from the fabric with our ASN as origin;
//   - their type-5 routes arrive with our ASN behind the fabric's, and their host
//     speaker's as origin ("allowas-in origin" drops them);
//   - sent to our host speaker as they are, they would carry its own ASN and be
//     dropped as a loop: as-override puts the router's in its place.
func TestRoutersAcceptEachOthersRoutes(t *testing.T) {
	b, err := os.ReadFile("testdata/seed_lab.golden")
	if err != nil {
		t.Fatal(err)
	}
	var stanza, family string
	have := map[string]bool{} // "stanza / family / line"
	for _, line := range strings.Split(string(b), "\n") {
		switch l := strings.TrimSpace(line); {
		case !strings.HasPrefix(line, " ") && l != "":
			stanza, family = l, ""
		case strings.HasPrefix(l, "address-family "):
			family = strings.TrimPrefix(l, "address-family ")
		case l == "exit-address-family":
			family = ""
		default:
			have[stanza+" / "+family+" / "+l] = true
		}
	}
	for _, want := range []string{
		"router bgp 64512 / ipv4 unicast / neighbor 192.168.11.2 allowas-in origin",
		"router bgp 64512 / l2vpn evpn / neighbor 192.168.11.2 allowas-in 1",
		"router bgp 64512 vrf red / ipv4 unicast / neighbor 192.169.10.2 as-override",
	} {
		if !have[want] {
			t.Errorf("the seed lab's configuration lacks %q", want)
		}
	}
}
