package nodeplumber

import (
	"context"
	"reflect"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// watchRouter asks the router's reloader every RouterCheck whether FRR runs the
// last good configuration. The plumber posts a configuration only when it
// changes, so without this a router that lost it (a daemon restarted, and the
// sidecar's restore failed) would go unnoticed: when the answer changes, the
// node is reconciled with its configuration posted again, which makes the
// reloader apply it and the node's status carry FRR's answer.
func (r *Reconciler) watchRouter(ctx context.Context, wake chan<- event.GenericEvent) error {
	log := ctrl.LoggerFrom(ctx).WithName("router-watch")
	healthy := true
	return every(ctx, r.RouterCheck, func() bool {
		err := r.Reloader.Health(ctx)
		if (err == nil) == healthy {
			return true
		}
		healthy = err == nil
		if healthy {
			log.Info("the router's FRR runs its last good configuration again")
		} else {
			log.Info("the router's FRR does not run its last good configuration", "reason", err.Error())
		}
		r.repost.Store(true)
		return r.wakeNode(ctx, wake)
	})
}

// wakeNode asks for a pass of this node; false when ctx ended first.
func (r *Reconciler) wakeNode(ctx context.Context, wake chan<- event.GenericEvent) bool {
	node := &metav1.PartialObjectMetadata{}
	node.SetName(r.NodeName)
	select {
	case wake <- event.GenericEvent{Object: node}:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchLive reads the router's EVPN state and wakes the node when it differs
// from the last read, so that its status carries it. A quiet node (same
// sessions, same counts; establishment times kept by frrstate.Steady) wakes
// nothing and writes nothing. Each read waits for the one before it to end
// (liveDelay), so a router slow to answer is not asked again before it has.
func (r *Reconciler) watchLive(ctx context.Context, wake chan<- event.GenericEvent) error {
	log := ctrl.LoggerFrom(ctx).WithName("live-state")
	delay := r.LiveInterval
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		start := time.Now()
		prev := r.live.Load()
		st, err := r.Reloader.State(ctx)
		delay = liveDelay(r.LiveInterval, time.Since(start))
		cur := nextLive(prev, st, err)
		recordLive(cur)
		if prev != nil && reflect.DeepEqual(*prev, *cur) {
			continue
		}
		if cur.Err != "" {
			log.Info("the router's FRR could not be read", "reason", cur.Err)
		}
		r.live.Store(cur)
		if !r.wakeNode(ctx, wake) {
			return nil
		}
	}
}

// every calls tick every interval until ctx ends or tick returns false.
func every(ctx context.Context, interval time.Duration, tick func() bool) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if !tick() {
			return nil
		}
	}
}
