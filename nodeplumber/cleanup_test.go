package nodeplumber

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

// TestCleanup plumbs an Underlay (no L3VNI: this kernel may lack VRF), adds by
// hand devices of ours and of others in both namespaces (bridges: this kernel
// may lack the dummy type too), then uninstalls.
func TestCleanup(t *testing.T) {
	l := newLab(t)
	applyTwice(t, l.k, l.state())

	// Devices of ours as an L3VNI leaves them: one in each namespace and a veth
	// across both, whose host leg goes with its router leg.
	frrinstance.Run(t, "ip", "-n", l.host, "link", "add", "hs900", "type", "bridge")
	frrinstance.Run(t, "ip", "-n", l.router, "link", "add", "br900", "type", "bridge")
	frrinstance.Run(t, "ip", "-n", l.router, "link", "add", "pe902", "type", "veth", "peer", "name", "hs902", "netns", l.host)
	for _, d := range []struct{ ns, name string }{{l.host, "hs900"}, {l.router, "br900"}, {l.router, "pe902"}, {l.host, "hs902"}} {
		frrinstance.Run(t, "ip", "-n", d.ns, "link", "set", d.name, "alias", OwnedAlias)
	}
	// Devices of others, named like ours.
	frrinstance.Run(t, "ip", "-n", l.host, "link", "add", "hs901", "type", "bridge")
	frrinstance.Run(t, "ip", "-n", l.router, "link", "add", "br901", "type", "bridge")

	// The test's handle holds the router netns alive once its name is gone, so
	// that what Cleanup did inside can still be read.
	router, host := l.handle(t, l.router), l.handle(t, l.host)

	r, err := l.k.Cleanup(l.router)
	if err != nil {
		t.Fatal(err)
	}
	want := CleanupReport{NICsMovedBack: []string{"eth1"}, DevicesRemoved: []string{"br900", "hs900", "hs902", "pe902"}, NetnsDeleted: true}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("report %+v, want %+v", r, want)
	}

	nic, err := host.LinkByName("eth1")
	if err != nil {
		t.Fatalf("eth1 is not back on the host: %v", err)
	}
	if nic.Attrs().MTU != 9000 || nic.Attrs().Flags&net.FlagUp == 0 || nic.Attrs().Alias != "" {
		t.Errorf("NIC back on the host: mtu %d, flags %v, alias %q", nic.Attrs().MTU, nic.Attrs().Flags, nic.Attrs().Alias)
	}
	if got := addrsOf(t, host, "eth1"); len(got) != 1 || got[0] != "192.168.11.1/24" {
		t.Errorf("NIC back on the host with addresses %v, want 192.168.11.1/24", got)
	}
	frrinstance.Run(t, "ip", "netns", "exec", l.host, "ping", "-c1", "-W2", "192.168.11.2")

	for _, c := range []struct {
		h    *netlink.Handle
		name string
	}{{host, "hs900"}, {host, "hs902"}, {router, "br900"}, {router, "pe902"}} {
		if _, err := c.h.LinkByName(c.name); err == nil {
			t.Errorf("%s of ours is still there", c.name)
		}
	}
	// br901 goes with the netns once nothing holds it, but Cleanup itself must
	// not have removed it.
	for _, c := range []struct {
		h    *netlink.Handle
		name string
	}{{host, "hs901"}, {router, "br901"}} {
		if _, err := c.h.LinkByName(c.name); err != nil {
			t.Errorf("foreign device %s was removed: %v", c.name, err)
		}
	}
	if _, err := os.Stat(filepath.Join("/run/netns", l.router)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the router netns is still named: %v", err)
	}

	before := l.k.Writes()
	r, err = l.k.Cleanup(l.router)
	if err != nil {
		t.Fatalf("second cleanup: %v", err)
	}
	if n := l.k.Writes() - before; n != 0 || !reflect.DeepEqual(r, CleanupReport{}) {
		t.Errorf("second cleanup: %d writes, report %+v; want none", n, r)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", l.router)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the second cleanup recreated the router netns: %v", err)
	}
}
