package nodeplumber

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// UninstallWatch follows the plumber's own DaemonSet, so that a stopping plumber
// can tell an uninstall from everything else that stops it. A restart, a rollout,
// a drain or an eviction must leave the node's network as it is (they are
// hitless); deleting the DaemonSet (helm uninstall, kubectl delete) is the user
// asking for the plumber to go, and then it gives the node its NICs back.
//
// It watches that one object's metadata, by name: RBAC grants the plumber no
// other DaemonSet.
type UninstallWatch struct {
	Namespace, DaemonSet string
	Log                  logr.Logger

	deleted atomic.Bool
}

// Deleted says whether the DaemonSet was last seen deleted or being deleted.
// A DaemonSet deleted and created again before the plumber stops is not.
func (w *UninstallWatch) Deleted() bool { return w.deleted.Load() }

// CacheEntry is what the manager's cache must hold for the watch: the
// DaemonSet's metadata, listed by name in its namespace only.
func (w *UninstallWatch) CacheEntry() (client.Object, cache.ByObject) {
	return daemonSetMeta(), cache.ByObject{Namespaces: map[string]cache.Config{
		w.Namespace: {FieldSelector: fields.OneTermEqualSelector("metadata.name", w.DaemonSet)},
	}}
}

// SetupWithManager starts following the DaemonSet when the manager starts.
func (w *UninstallWatch) SetupWithManager(mgr ctrl.Manager) error {
	inf, err := mgr.GetCache().GetInformer(context.Background(), daemonSetMeta())
	if err != nil {
		return fmt.Errorf("watching DaemonSet %s/%s: %w", w.Namespace, w.DaemonSet, err)
	}
	see := func(o any, gone bool) {
		now := daemonSetGoing(o, gone)
		if w.deleted.Swap(now) == now {
			return
		}
		onStop := "leave the node's network as it is"
		if now {
			onStop = "give the node its NICs back and remove what the plumber built"
		}
		w.Log.Info("the plumber's DaemonSet changed", "daemonSet", w.DaemonSet, "deleted", now, "onStop", onStop)
	}
	_, err = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { see(o, false) },
		UpdateFunc: func(_, o any) { see(o, false) },
		DeleteFunc: func(o any) { see(o, true) },
	})
	return err
}

// daemonSetGoing judges one event about the plumber's DaemonSet: gone, or
// marked for deletion (foreground deletion keeps the object until its pods are
// gone, with a deletion timestamp).
func daemonSetGoing(o any, gone bool) bool {
	if gone {
		return true
	}
	m, ok := o.(metav1.Object)
	return ok && m.GetDeletionTimestamp() != nil
}

func daemonSetMeta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("DaemonSet"))
	return m
}
