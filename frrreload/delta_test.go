package frrreload

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
)

// routerConfig renders the router's configuration with n VRFs, the default
// instance peering with setup's peer.
func routerConfig(t testing.TB, n int, rt string) string {
	t.Helper()
	c := frrtemplates.Config{Underlay: frrtemplates.Underlay{ASN: 64512, RouterID: "10.0.0.1", VTEP: "100.65.0.1",
		Neighbors: []frrtemplates.Neighbor{{Address: peerAddr, ASN: 64513}}}}
	for i := range n {
		c.VRFs = append(c.VRFs, frrtemplates.VRF{Name: fmt.Sprintf("vrf%d", i), VNI: uint32(100 + i), ASN: 64512, RouterID: "10.0.0.1",
			ImportRTs:     []string{rt},
			HostNeighbors: []frrtemplates.HostNeighbor{{Address: fmt.Sprintf("10.%d.%d.2", 100+i/256, i%256), ASN: 64515}}})
	}
	s, err := frrtemplates.Render(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWholeStanzaDelta(t *testing.T) {
	two, three := routerConfig(t, 2, "64512:1"), routerConfig(t, 3, "64512:1")
	for _, tc := range []struct {
		name       string
		last, next string
		ok         bool
		add, rm    []string // heads
	}{
		{"one L3VNI added", two, three, true, []string{"vrf vrf2", "router bgp 64512 vrf vrf2"}, nil},
		{"one L3VNI removed", three, two, true, nil, []string{"vrf vrf2", "router bgp 64512 vrf vrf2"}},
		{"nothing", two, two, true, nil, nil},
		{"a stanza both have changed", two, routerConfig(t, 2, "64512:2"), false, nil, nil},
		{"a line removed that is not a VRF's", "bgp graceful-restart\nrouter bgp 1\nexit\n", "router bgp 1\nexit\n", false, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := wholeStanzaDelta(tc.last, tc.next)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if got := heads(d.add); strings.Join(got, ";") != strings.Join(tc.add, ";") {
				t.Errorf("added %q, want %q", got, tc.add)
			}
			if got := heads(d.remove); strings.Join(got, ";") != strings.Join(tc.rm, ";") {
				t.Errorf("removed %q, want %q", got, tc.rm)
			}
		})
	}
}

func heads(ss []stanza) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.head)
	}
	return out
}

// Adding or removing one L3VNI goes without frr-reload.py (here one that always
// fails) and leaves the other sessions alone; any other change still goes
// through it.
func TestOneL3VNIAddedOrRemovedWithoutFrrReload(t *testing.T) {
	r, router := setup(t)
	r.Log = testr.New(t)
	ctx := context.Background()
	three, four := routerConfig(t, 3, "64512:1"), routerConfig(t, 4, "64512:1")
	if _, err := r.Apply(ctx, []byte(three)); err != nil {
		t.Fatalf("%v\n%s", err, router.Logs())
	}
	before := router.WaitEstablished(t, "", peerAddr, 30*time.Second)
	r.ReloadScript = "/bin/false"

	if _, err := r.Apply(ctx, []byte(four)); err != nil {
		t.Fatalf("adding one L3VNI: %v", err)
	}
	running := router.Vtysh(t, "show running-config")
	if !strings.Contains(running, "router bgp 64512 vrf vrf3") || !strings.Contains(running, " vni 103") {
		t.Fatalf("the added L3VNI is not running:\n%s", running)
	}
	if _, err := r.Apply(ctx, []byte(three)); err != nil {
		t.Fatalf("removing one L3VNI: %v", err)
	}
	running = router.Vtysh(t, "show running-config")
	if strings.Contains(running, "router bgp 64512 vrf vrf3") || strings.Contains(running, " vni 103") {
		t.Fatalf("the removed L3VNI still runs:\n%s", running)
	}
	if missing := missingStanzas(running, three); len(missing) > 0 {
		t.Fatalf("the other L3VNIs lost %q", missing)
	}
	if n := router.BGPNeighbor(t, "", peerAddr); n.ConnectionsEstablished != before.ConnectionsEstablished || n.ConnectionsDropped != before.ConnectionsDropped {
		t.Errorf("the default instance's session was reset: before %+v, after %+v", before, n)
	}
	// Control: a change inside a stanza needs frr-reload.py, which fails here.
	if _, err := r.Apply(ctx, []byte(routerConfig(t, 3, "64512:2"))); !errors.Is(err, ErrRejected) {
		t.Fatalf("a route target changed went around frr-reload.py: %v", err)
	}
}
