package nodeplumber

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// deviceGone says whether a link update is the deletion of a device the plumber
// made or moved: someone (or something) took it away, and the node must be
// reconciled to put it back. Nothing else in the kernel concerns the plumber.
func deviceGone(u netlink.LinkUpdate) bool {
	if u.Header.Type != unix.RTM_DELLINK || u.Link == nil {
		return false
	}
	alias := u.Link.Attrs().Alias
	return alias == OwnedAlias || alias == MovedNICAlias
}

// watchDevices wakes the plumber when a device of its own is deleted, in the
// host namespace or in the router's: the plumber otherwise acts only on API
// events, and a veth deleted by hand would stay missing until the next one. A
// router netns that does not exist yet, or is deleted and made again, is
// watched once it exists, and one that loses its name wakes the plumber too. The plumber's own deletions wake it too: one more
// pass, which finds nothing to do.
func (r *Reconciler) watchDevices(ctx context.Context, wake chan<- event.GenericEvent) error {
	log := ctrl.LoggerFrom(ctx).WithName("device-watch")
	// One channel per subscription: netlink closes it when the subscription ends.
	subscribe := func(ns netns.NsHandle, done <-chan struct{}) (chan netlink.LinkUpdate, error) {
		ch := make(chan netlink.LinkUpdate, 64)
		err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
			// A subscription also "fails" when it is closed on purpose: the
			// channel's end is what counts (see below).
			Namespace: &ns, ErrorCallback: func(err error) { log.V(1).Info("link subscription ended", "reason", err.Error()) },
		})
		return ch, err
	}
	hostNS, err := r.Kernel.hostNetns()
	if err != nil {
		return err
	}
	defer hostNS.Close()
	host, err := subscribe(hostNS, ctx.Done())
	if err != nil {
		return err
	}
	routerNS := netns.None()
	var router chan netlink.LinkUpdate // nil (never ready) until the netns exists
	var routerDone chan struct{}
	stopRouter := func() {
		if routerDone != nil {
			close(routerDone)
			routerDone, router = nil, nil
		}
		if routerNS.IsOpen() {
			routerNS.Close()
		}
		routerNS = netns.None()
	}
	defer stopRouter()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		// The named router netns, once it exists; again if it was made anew.
		if cur, err := netns.GetFromName(r.Netns); err == nil {
			if router != nil && routerNS.Equal(cur) {
				cur.Close()
			} else {
				stopRouter()
				routerNS, routerDone = cur, make(chan struct{})
				if router, err = subscribe(routerNS, routerDone); err != nil {
					return err
				}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		} else if router != nil {
			// The netns watched lost its name (`ip netns del` by hand): the pass
			// names it again (Kernel.routerNetns), until then at every look.
			log.Info("the router netns was deleted: reconciling", "netns", r.Netns)
			if !r.wakeNode(ctx, wake) {
				return nil
			}
		}
		var u netlink.LinkUpdate
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			continue
		case u, ok = <-host:
			if !ok {
				return errors.New("the host namespace's link subscription ended") // the pod restarts and watches again
			}
		case u, ok = <-router:
			if !ok {
				stopRouter() // subscribe again at the next look
				continue
			}
		}
		if !deviceGone(u) {
			continue
		}
		log.Info("a device of ours was deleted: reconciling", "device", u.Link.Attrs().Name)
		if !r.wakeNode(ctx, wake) {
			return nil
		}
	}
}
