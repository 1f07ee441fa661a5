package nodeplumber

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

// The device watch wakes the plumber when a device of its own is deleted, in the
// host namespace or the router's (also a router netns made after the watch
// started, or made anew) and when the router netns loses its name, and not for
// devices of others.
func TestDeviceWatchWakesOnOurDeletedDevices(t *testing.T) {
	l := newLab(t)
	r := &Reconciler{NodeName: "node1", Netns: l.router, Kernel: l.k}
	wake := make(chan event.GenericEvent)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.watchDevices(ctx, wake) }()
	time.Sleep(500 * time.Millisecond) // subscribed

	dummy := func(ns, name, alias string) {
		frrinstance.Run(t, "ip", "-n", ns, "link", "add", name, "type", "veth", "peer", "name", name+"p")
		if alias != "" {
			frrinstance.Run(t, "ip", "-n", ns, "link", "set", name, "alias", alias)
		}
		frrinstance.Run(t, "ip", "-n", ns, "link", "del", name)
	}
	expect := func(what string, woken bool) {
		t.Helper()
		select {
		case <-wake:
			if !woken {
				t.Errorf("%s woke the plumber", what)
			}
		case <-time.After(7 * time.Second): // past the watch's look for a new router netns
			if woken {
				t.Errorf("%s did not wake the plumber", what)
			}
		}
	}
	dummy(l.host, "hs900", OwnedAlias)
	expect("a host leg of ours deleted", true)
	dummy(l.host, "other0", "")
	expect("a device of someone else deleted on the host", false)

	frrinstance.Run(t, "ip", "netns", "add", l.router) // made after the watch started
	time.Sleep(6 * time.Second)
	dummy(l.router, "pe900", OwnedAlias)
	expect("a router leg of ours deleted", true)

	frrinstance.Run(t, "ip", "netns", "del", l.router)
	frrinstance.Run(t, "ip", "netns", "add", l.router) // made anew
	time.Sleep(6 * time.Second)
	dummy(l.router, "vx900", OwnedAlias)
	expect("a device of ours deleted in a router netns made anew", true)

	frrinstance.Run(t, "ip", "netns", "del", l.router) // by hand, and not made again
	expect("the router netns deleted", true)
}
