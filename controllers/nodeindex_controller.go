package controllers

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// NodeIndexReconciler gives every Node a stable index in its annotation. It watches
// Node metadata only, so a thousand Nodes cost little memory.
type NodeIndexReconciler struct {
	Client client.Client

	// mu guards the in-memory allocator, which decides every index: two nodes
	// reconciled together must not both see an index as free while the cache has
	// not yet caught up with the first write. The API writes happen outside it,
	// several at a time.
	mu     sync.Mutex
	alloc  *indexAllocator
	loaded bool
}

func nodeMeta() *metav1.PartialObjectMetadata {
	n := &metav1.PartialObjectMetadata{}
	n.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
	return n
}

// Reconcile assigns the node its index, or frees the index of a node that is gone.
func (r *NodeIndexReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	node := nodeMeta()
	getErr := r.Client.Get(ctx, req.NamespacedName, node)
	if getErr != nil && !apierrors.IsNotFound(getErr) {
		return ctrl.Result{}, fmt.Errorf("getting node %s: %w", req.Name, getErr)
	}
	idx, write, err := r.decide(ctx, req.Name, node, apierrors.IsNotFound(getErr))
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

// decide loads the allocator on first use and returns the node's index and
// whether its annotation must be written; a node that is gone frees its index.
func (r *NodeIndexReconciler) decide(ctx context.Context, name string, node *metav1.PartialObjectMetadata, gone bool) (int, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.loaded {
		list := &metav1.PartialObjectMetadataList{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
		if err := r.Client.List(ctx, list); err != nil {
			return 0, false, fmt.Errorf("listing nodes to load their indexes: %w", err)
		}
		r.alloc = newIndexAllocator()
		r.alloc.load(list.Items)
		r.loaded = true
	}
	if gone {
		r.alloc.release(name)
		return 0, false, nil
	}
	idx, write := r.alloc.indexFor(name, node.Annotations)
	return idx, write, nil
}

// SetupWithManager registers the reconciler with the manager.
func (r *NodeIndexReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeindex").
		For(&corev1.Node{}, builder.OnlyMetadata, builder.WithPredicates(predicate.AnnotationChangedPredicate{})).
		// Decisions are serialized by mu; the annotation patches go out in parallel.
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(r)
}
