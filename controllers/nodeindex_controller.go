package controllers

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// DefaultNodeIndexGrace is how long a deleted node's index stays reserved while
// its RouterNodeStatus says its router may still run.
const DefaultNodeIndexGrace = 15 * time.Minute

// NodeIndexReconciler gives every Node a stable index in its annotation. It watches
// Node metadata only, so a thousand Nodes cost little memory, and the
// RouterNodeStatuses, whose existence keeps a departed node's index reserved.
type NodeIndexReconciler struct {
	Client client.Client
	// Namespace holds the RouterNodeStatuses.
	Namespace string
	// Grace is how long after its Node is gone a RouterNodeStatus is deleted,
	// freeing the index; deleting it by hand frees the index at once.
	Grace time.Duration
	// Now is the clock of the grace period (time.Now when nil).
	Now func() time.Time

	// mu guards the in-memory allocator, which decides every index: two nodes
	// reconciled together must not both see an index as free while the cache has
	// not yet caught up with the first write. The API writes happen outside it,
	// several at a time.
	mu     sync.Mutex
	alloc  *indexAllocator
	loaded bool
	// goneSince is when this controller first saw a node gone while its router
	// status remained (in memory: a restart starts the grace period again, which
	// only errs on the safe side).
	goneSince map[string]time.Time
}

func nodeMeta() *metav1.PartialObjectMetadata {
	n := &metav1.PartialObjectMetadata{}
	n.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
	return n
}

// Reconcile assigns the node its index, or, for a node that is gone, keeps its
// index reserved until its router status is gone or the grace period passed.
func (r *NodeIndexReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	node := nodeMeta()
	getErr := r.Client.Get(ctx, req.NamespacedName, node)
	if getErr != nil && !apierrors.IsNotFound(getErr) {
		return ctrl.Result{}, fmt.Errorf("getting node %s: %w", req.Name, getErr)
	}
	if apierrors.IsNotFound(getErr) {
		return r.departed(ctx, req.Name)
	}
	idx, write, err := r.decide(ctx, func(a *indexAllocator) (int, bool) {
		delete(r.goneSince, node.Name)
		return a.indexFor(node.Name, node.Annotations)
	})
	if err != nil || !write {
		return ctrl.Result{}, err
	}
	patch := client.MergeFrom(node.DeepCopy())
	if node.Annotations == nil {
		node.Annotations = map[string]string{}
	}
	node.Annotations[evpnv1.NodeIndexAnnotation] = strconv.Itoa(idx)
	if err := r.Client.Patch(ctx, node, patch); err != nil {
		return ctrl.Result{}, fmt.Errorf("annotating node %s with index %d: %w", node.Name, idx, err)
	}
	log.FromContext(ctx).V(1).Info("node index assigned", "node", node.Name, "index", idx)
	return ctrl.Result{}, nil
}

// departed handles a node that is gone: its index stays reserved while its
// RouterNodeStatus exists, which is deleted once the grace period has passed.
func (r *NodeIndexReconciler) departed(ctx context.Context, name string) (ctrl.Result, error) {
	rs := &evpnv1.RouterNodeStatus{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: name}, rs)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("getting RouterNodeStatus %s: %w", name, err)
	}
	hasRouter := err == nil
	var since time.Time
	if _, _, err := r.decide(ctx, func(a *indexAllocator) (int, bool) {
		a.depart(name, routerIndex(rs), hasRouter)
		if !hasRouter {
			delete(r.goneSince, name)
			return 0, false
		}
		if _, ok := r.goneSince[name]; !ok {
			r.goneSince[name] = r.now()
		}
		since = r.goneSince[name]
		return 0, false
	}); err != nil || !hasRouter {
		return ctrl.Result{}, err
	}
	if left := r.grace() - r.now().Sub(since); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	if err := r.Client.Delete(ctx, rs); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("deleting RouterNodeStatus %s of a node gone since %s: %w", name, since.Format(time.RFC3339), err)
	}
	log.FromContext(ctx).Info("node gone for longer than the grace period: its index is free again", "node", name, "grace", r.grace())
	return ctrl.Result{}, nil
}

func routerIndex(rs *evpnv1.RouterNodeStatus) int {
	if rs.Status.NodeIndex == nil {
		return -1
	}
	return int(*rs.Status.NodeIndex)
}

func (r *NodeIndexReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *NodeIndexReconciler) grace() time.Duration {
	if r.Grace > 0 {
		return r.Grace
	}
	return DefaultNodeIndexGrace
}

// decide loads the allocator on first use, then runs one decision under the lock.
func (r *NodeIndexReconciler) decide(ctx context.Context, fn func(*indexAllocator) (int, bool)) (int, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
		if err := r.Client.List(ctx, list); err != nil {
			return 0, false, fmt.Errorf("listing nodes to load their indexes: %w", err)
		}
		var statuses evpnv1.RouterNodeStatusList
		if err := r.Client.List(ctx, &statuses, client.InNamespace(r.Namespace)); err != nil {
			return 0, false, fmt.Errorf("listing RouterNodeStatuses to load the reserved indexes: %w", err)
		}
		routers := map[string]int{}
		for i := range statuses.Items {
			if idx := routerIndex(&statuses.Items[i]); idx >= 0 {
				routers[statuses.Items[i].Name] = idx
			}
		}
		r.alloc = newIndexAllocator()
		r.alloc.load(list.Items, routers)
		r.goneSince = map[string]time.Time{}
		r.loaded = true
	}
	idx, write := fn(r.alloc)
	return idx, write, nil
}

// SetupWithManager registers the reconciler with the manager.
func (r *NodeIndexReconciler) SetupWithManager(mgr ctrl.Manager) error {
	byName := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
		if o.GetNamespace() != r.Namespace {
			return nil
		}
		return []ctrl.Request{{NamespacedName: client.ObjectKey{Name: o.GetName()}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeindex").
		For(&corev1.Node{}, builder.OnlyMetadata, builder.WithPredicates(predicate.AnnotationChangedPredicate{})).
		// A router status matters here when it appears or goes: only then can a
		// departed node's index change hands.
		Watches(&evpnv1.RouterNodeStatus{}, byName, builder.WithPredicates(predicate.Funcs{
			UpdateFunc: func(e event.UpdateEvent) bool { return false },
		})).
		// Decisions are serialized by mu; the annotation patches go out in parallel.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(r)
}
