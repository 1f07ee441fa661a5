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
