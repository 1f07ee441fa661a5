package nodeplumber

import (
	"context"
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
	t := time.NewTicker(r.RouterCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		err := r.Reloader.Health(ctx)
		if (err == nil) == healthy {
			continue
		}
		healthy = err == nil
		if healthy {
			log.Info("the router's FRR runs its last good configuration again")
		} else {
			log.Info("the router's FRR does not run its last good configuration", "reason", err.Error())
		}
		r.repost.Store(true)
		if !r.wakeNode(ctx, wake) {
			return nil
		}
	}
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
