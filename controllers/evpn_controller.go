package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"time"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// worldKey is the single work item of EVPNReconciler. Validation is across all
// objects, so every event leads to one evaluation of the whole snapshot; a burst of
// events (a thousand nodes labelled, a hundred L3VNIs applied) coalesces into a few
// evaluations instead of one per object.
var worldKey = ctrl.Request{NamespacedName: types.NamespacedName{Name: "evpn"}}

// EVPNReconciler validates Underlays and L3VNIs together, writes one
// FRRConfiguration per accepted L3VNI and reports status.
type EVPNReconciler struct {
	Client client.Client
	// Namespace holds the Underlays, L3VNIs and RouterNodeStatuses.
	Namespace string
	// FRRK8sNamespace is where FRR-K8s reads FRRConfigurations.
	FRRK8sNamespace string
	Recorder        recorder.EventRecorder
	// Now is the clock for condition transitions (time.Now when nil).
	Now func() time.Time
	// FRRK8s says whether FRR-K8s's CRDs are installed; nil means they are.
	FRRK8s *FRRK8sPresence
	// ClusterNetworks are the ranges an administrator declared as the
	// cluster's (pods, nodes); ServiceCIDRs adds the API's ServiceCIDR objects
	// (Kubernetes 1.33 and later serve them).
	ClusterNetworks []netip.Prefix
	ServiceCIDRs    bool

	// lastStatus remembers, per object, the status we last wrote and the
	// resourceVersion the object had before that write. While the cache still
	// shows that old version, the write has not reached the cache yet and must not
	// be repeated. Reconciles of the single work item never run concurrently.
	lastStatus map[types.UID]statusWrite
	// roleMissingLogged is true once the missing PlumberSecretsRole was logged.
	roleMissingLogged bool
}

type statusWrite struct {
	staleRV string
	status  any
}

// alreadyWritten reports whether status was written already and the cached object
// is simply older than that write.
func (r *EVPNReconciler) alreadyWritten(obj client.Object, status any) bool {
	w, ok := r.lastStatus[obj.GetUID()]
	return ok && w.staleRV == obj.GetResourceVersion() && equality.Semantic.DeepEqual(w.status, status)
}

// forgetGone drops the memory of objects that no longer exist.
func (r *EVPNReconciler) forgetGone(w *World) {
	live := map[types.UID]bool{}
	for i := range w.L3VNIs {
		live[w.L3VNIs[i].UID] = true
	}
	for i := range w.Underlays {
		live[w.Underlays[i].UID] = true
	}
	if w.PlumberSecretsRole != nil {
		live[w.PlumberSecretsRole.UID] = true
	}
	for uid := range r.lastStatus {
		if !live[uid] {
			delete(r.lastStatus, uid)
		}
	}
}

func (r *EVPNReconciler) rememberStatus(uid types.UID, staleRV string, status any) {
	if r.lastStatus == nil {
		r.lastStatus = map[types.UID]statusWrite{}
	}
	r.lastStatus[uid] = statusWrite{staleRV: staleRV, status: status}
}

// Reconcile reads a snapshot, decides, and writes only what differs.
func (r *EVPNReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	w, err := r.snapshot(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	plan := Evaluate(w, metav1.NewTime(now().Truncate(time.Second)))
	recordDecision(&plan, w)
	r.forgetGone(w)

	var errs []error
	// Before any status: a plumber told to use a Secret must be able to read it.
	if err := r.keepPlumberSecretsRole(ctx, w.PlumberSecretsRole, plan.PlumberSecretRules); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, r.removeOrphans(ctx, w)...)
	for i := range plan.L3VNIs {
		if err := r.applyL3VNI(ctx, &plan.L3VNIs[i], w, now); err != nil {
			errs = append(errs, err)
		}
	}
	for i := range plan.Underlays {
		if err := r.applyUnderlay(ctx, &plan.Underlays[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return ctrl.Result{}, errors.Join(errs...)
}

// snapshot reads every input of Evaluate from the cache.
func (r *EVPNReconciler) snapshot(ctx context.Context) (*World, error) {
	w := &World{
		FRRK8sNamespace:   r.FRRK8sNamespace,
		RouterStatuses:    map[string]*evpnv1.RouterNodeStatus{},
		FRRNodeStates:     map[string]*frrv1beta1.FRRNodeState{},
		FRRConfigurations: map[string]*frrv1beta1.FRRConfiguration{},
	}
	var underlays evpnv1.UnderlayList
	var l3vnis evpnv1.L3VNIList
	var statuses evpnv1.RouterNodeStatusList
	var nodeStates frrv1beta1.FRRNodeStateList
	var configs frrv1beta1.FRRConfigurationList
	nodes := &metav1.PartialObjectMetadataList{}
	nodes.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
	secrets := &metav1.PartialObjectMetadataList{}
	secrets.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	lists := []struct {
		list client.ObjectList
		opts []client.ListOption
	}{
		{&underlays, []client.ListOption{client.InNamespace(r.Namespace)}},
		{&l3vnis, []client.ListOption{client.InNamespace(r.Namespace)}},
		{&statuses, []client.ListOption{client.InNamespace(r.Namespace)}},
		{nodes, nil},
		{secrets, []client.ListOption{client.InNamespace(r.Namespace)}},
	}
	for _, l := range lists {
		if err := r.Client.List(ctx, l.list, l.opts...); err != nil {
			return nil, fmt.Errorf("listing %T: %w", l.list, err)
		}
	}
	for _, p := range r.ClusterNetworks {
		w.Networks = append(w.Networks, placement.Network{Prefix: p, Of: "--cluster-networks"})
	}
	if r.ServiceCIDRs {
		var cidrs networkingv1.ServiceCIDRList
		if err := r.Client.List(ctx, &cidrs); err != nil {
			return nil, fmt.Errorf("listing ServiceCIDRs: %w", err)
		}
		for _, c := range cidrs.Items {
			for _, s := range c.Spec.CIDRs {
				if p, err := netip.ParsePrefix(s); err == nil {
					w.Networks = append(w.Networks, placement.Network{Prefix: p, Of: "ServiceCIDR " + c.Name})
				}
			}
		}
	}
	frr := r.FRRK8s.Reader()
	w.FRRK8sMissing = frr == nil
	if frr != nil {
		if err := frr.List(ctx, &nodeStates); err != nil {
			return nil, fmt.Errorf("listing FRRNodeStates: %w", err)
		}
		if err := frr.List(ctx, &configs, client.InNamespace(r.FRRK8sNamespace), client.MatchingLabels{evpnv1.ManagedByLabel: evpnv1.ManagedByValue}); err != nil {
			return nil, fmt.Errorf("listing FRRConfigurations: %w", err)
		}
	}
	w.Underlays, w.L3VNIs = underlays.Items, l3vnis.Items
	role := &rbacv1.Role{}
	switch err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: PlumberSecretsRole}, role); {
	case err == nil:
		w.PlumberSecretsRole = role
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("getting Role %s: %w", PlumberSecretsRole, err)
	}
	w.Secrets = make(map[string]bool, len(secrets.Items))
	for _, s := range secrets.Items {
		w.Secrets[s.Name] = true
	}
	for i := range statuses.Items {
		w.RouterStatuses[statuses.Items[i].Name] = &statuses.Items[i]
	}
	for i := range nodeStates.Items {
		w.FRRNodeStates[nodeStates.Items[i].Name] = &nodeStates.Items[i]
	}
	for i := range configs.Items {
		if owner := configs.Items[i].Annotations[OwnerAnnotation]; owner != "" {
			w.FRRConfigurations[owner] = &configs.Items[i]
		}
	}
	for _, n := range nodes.Items {
		idx, ok := addressing.ParseNodeIndex(n.Annotations)
		w.Nodes = append(w.Nodes, placement.Node{Name: n.Name, Labels: n.Labels, Index: idx, HasIndex: ok})
	}
	sort.Slice(w.Nodes, func(i, j int) bool { return w.Nodes[i].Name < w.Nodes[j].Name })
	return w, nil
}

// removeOrphans deletes generated FRRConfigurations whose L3VNI is gone, e.g.
// deleted while the controller was down and its finalizer removed by hand.
func (r *EVPNReconciler) removeOrphans(ctx context.Context, w *World) []error {
	live := map[string]bool{}
	for _, l := range w.L3VNIs {
		live[l.Namespace+"/"+l.Name] = true
	}
	var errs []error
	for owner, cfg := range w.FRRConfigurations {
		if live[owner] {
			continue
		}
		if err := r.Client.Delete(ctx, cfg); client.IgnoreNotFound(err) != nil {
			errs = append(errs, fmt.Errorf("deleting orphaned FRRConfiguration %s/%s: %w", cfg.Namespace, cfg.Name, err))
			continue
		}
		log.FromContext(ctx).Info("deleted orphaned FRRConfiguration", "frrconfiguration", cfg.Name, "l3vni", owner)
	}
	return errs
}

// applyL3VNI writes the L3VNI's FRRConfiguration, finalizer and status where they
// differ from the plan.
func (r *EVPNReconciler) applyL3VNI(ctx context.Context, p *L3VNIPlan, w *World, now func() time.Time) error {
	l := p.L3VNI
	existing := w.FRRConfigurations[l.Namespace+"/"+l.Name]

	if !l.DeletionTimestamp.IsZero() {
		if existing != nil {
			if err := r.Client.Delete(ctx, existing); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting FRRConfiguration %s/%s of L3VNI %s: %w", existing.Namespace, existing.Name, l.Name, err)
			}
		}
		if controllerutil.ContainsFinalizer(l, evpnv1.Finalizer) {
			patch := client.MergeFromWithOptions(l.DeepCopy(), client.MergeFromWithOptimisticLock{})
			controllerutil.RemoveFinalizer(l, evpnv1.Finalizer)
			if err := r.Client.Patch(ctx, l, patch); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("removing finalizer of L3VNI %s: %w", l.Name, err)
			}
		}
		return nil
	}

	var writeErr error
	if p.Desired != nil {
		writeErr = r.writeFRRConfiguration(ctx, l, p.Desired, existing)
		if writeErr != nil {
			writeFailed(&p.Status.Conditions, l.Status.Conditions, writeErr, l.Generation, metav1.NewTime(now().Truncate(time.Second)))
		}
	}

	old := l.Status
	if !equality.Semantic.DeepEqual(old, p.Status) && !r.alreadyWritten(l, p.Status) {
		staleRV := l.ResourceVersion
		patch := client.MergeFrom(l.DeepCopy())
		l.Status = p.Status
		if err := r.Client.Status().Patch(ctx, l, patch); err != nil {
			return errors.Join(writeErr, fmt.Errorf("updating status of L3VNI %s: %w", l.Name, err))
		}
		r.rememberStatus(l.UID, staleRV, p.Status)
		r.recordTransitions(l, old.Conditions, p.Status.Conditions)
	}
	return writeErr
}

// writeFailed turns FRRConfigurationReady into WriteFailed. It starts from the
// condition as stored, not as the plan set it, so that retries of a write that
// keeps failing leave its transition time alone and make no status write for
// nothing.
func writeFailed(conds *[]metav1.Condition, stored []metav1.Condition, err error, gen int64, now metav1.Time) {
	meta.RemoveStatusCondition(conds, evpnv1.ConditionFRRConfigurationReady)
	if c := meta.FindStatusCondition(stored, evpnv1.ConditionFRRConfigurationReady); c != nil {
		*conds = append(*conds, *c)
	}
	setCondition(conds, evpnv1.ConditionFRRConfigurationReady, false, ReasonWriteFailed, err.Error(), gen, now)
}

// writeFRRConfiguration adds the finalizer first, so that the FRRConfiguration never
// exists without one, then creates or updates the object if it differs.
func (r *EVPNReconciler) writeFRRConfiguration(ctx context.Context, l *evpnv1.L3VNI, desired, existing *frrv1beta1.FRRConfiguration) error {
	if !controllerutil.ContainsFinalizer(l, evpnv1.Finalizer) {
		patch := client.MergeFromWithOptions(l.DeepCopy(), client.MergeFromWithOptimisticLock{})
		controllerutil.AddFinalizer(l, evpnv1.Finalizer)
		if err := r.Client.Patch(ctx, l, patch); err != nil {
			return fmt.Errorf("adding finalizer to L3VNI %s: %w", l.Name, err)
		}
	}
	if existing == nil {
		if err := r.Client.Create(ctx, desired); err != nil {
			return fmt.Errorf("creating FRRConfiguration %s/%s: %w", desired.Namespace, desired.Name, err)
		}
		return nil
	}
	if equality.Semantic.DeepEqual(existing.Spec, desired.Spec) &&
		containsAll(existing.Labels, desired.Labels) && containsAll(existing.Annotations, desired.Annotations) {
		return nil
	}
	updated := existing.DeepCopy()
	updated.Spec = desired.Spec
	updated.Labels = mergeMaps(updated.Labels, desired.Labels)
	updated.Annotations = mergeMaps(updated.Annotations, desired.Annotations)
	if err := r.Client.Update(ctx, updated); err != nil {
		return fmt.Errorf("updating FRRConfiguration %s/%s: %w", desired.Namespace, desired.Name, err)
	}
	return nil
}

// applyUnderlay writes the Underlay's status if it changed.
func (r *EVPNReconciler) applyUnderlay(ctx context.Context, p *UnderlayPlan) error {
	u := p.Underlay
	old := u.Status
	if equality.Semantic.DeepEqual(old, p.Status) || r.alreadyWritten(u, p.Status) {
		return nil
	}
	staleRV := u.ResourceVersion
	patch := client.MergeFrom(u.DeepCopy())
	u.Status = p.Status
	if err := r.Client.Status().Patch(ctx, u, patch); err != nil {
		return fmt.Errorf("updating status of Underlay %s: %w", u.Name, err)
	}
	r.rememberStatus(u.UID, staleRV, p.Status)
	r.recordTransitions(u, old.Conditions, p.Status.Conditions)
	return nil
}

// recordTransitions emits the Events transitionEvents decides.
func (r *EVPNReconciler) recordTransitions(obj client.Object, before, after []metav1.Condition) {
	if r.Recorder == nil {
		return
	}
	for _, e := range transitionEvents(before, after) {
		r.Recorder.Eventf(obj, nil, e.Type, e.Reason, e.Action, "%s", e.Note)
	}
}

// objectEvent is one Event on an Underlay or L3VNI.
type objectEvent struct{ Type, Reason, Action, Note string }

// failureReasons are the Ready and FRRConfigurationReady reasons that are a
// failure worth an Event (not the waiting ones, such as nodes still applying).
var failureReasons = map[string]bool{ReasonFRRK8sFailed: true, ReasonNodeFailed: true, ReasonWriteFailed: true}

// transitionEvents decides the Events of a status change: an object becomes
// rejected or accepted again, a failure appears, a failure is gone. The first
// acceptance of a new object is the normal path and emits nothing, to keep API
// writes proportional to problems. Only transitions emit: the same failure seen
// again is not a new Event.
func transitionEvents(before, after []metav1.Condition) []objectEvent {
	var out []objectEvent
	changed := func(typ string) (old, cur *metav1.Condition, ok bool) {
		old, cur = meta.FindStatusCondition(before, typ), meta.FindStatusCondition(after, typ)
		if cur == nil || (old != nil && old.Status == cur.Status && old.Reason == cur.Reason) {
			return nil, nil, false
		}
		return old, cur, true
	}
	if old, cur, ok := changed(evpnv1.ConditionAccepted); ok {
		switch {
		case cur.Status == metav1.ConditionFalse:
			out = append(out, objectEvent{corev1.EventTypeWarning, "Rejected", "Validate", cur.Message})
		case old != nil && old.Status == metav1.ConditionFalse:
			out = append(out, objectEvent{corev1.EventTypeNormal, "Accepted", "Validate", "accepted"})
		}
	}
	for _, typ := range []string{evpnv1.ConditionFRRConfigurationReady, evpnv1.ConditionReady} {
		old, cur, ok := changed(typ)
		switch {
		case !ok:
		case failureReasons[cur.Reason]:
			out = append(out, objectEvent{corev1.EventTypeWarning, cur.Reason, "Apply", cur.Message})
		case cur.Status == metav1.ConditionTrue && old != nil && failureReasons[old.Reason]:
			out = append(out, objectEvent{corev1.EventTypeNormal, evpnv1.EventRecovered, "Apply", typ + ": " + cur.Message + " (was " + old.Reason + ")"})
		}
	}
	return out
}

func containsAll(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func mergeMaps(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	maps.Copy(dst, src)
	return dst
}

// SetupWithManager registers the reconciler: every watched kind enqueues worldKey.
// FRR-K8s's kinds are watched once its CRDs exist (FRRK8sPresence).
func (r *EVPNReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toWorld := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []ctrl.Request {
		return []ctrl.Request{worldKey}
	})
	inNamespace := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == r.Namespace })
	c, err := ctrl.NewControllerManagedBy(mgr).
		Named("evpn").
		Watches(&evpnv1.L3VNI{}, toWorld, builder.WithPredicates(inNamespace)).
		Watches(&evpnv1.Underlay{}, toWorld, builder.WithPredicates(inNamespace)).
		Watches(&evpnv1.RouterNodeStatus{}, toWorld, builder.WithPredicates(inNamespace)).
		Watches(&corev1.Node{}, toWorld, builder.OnlyMetadata, builder.WithPredicates(predicate.Or(
			predicate.LabelChangedPredicate{}, nodeIndexChanged()))).
		Watches(&rbacv1.Role{}, toWorld, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
			return o.GetNamespace() == r.Namespace && o.GetName() == PlumberSecretsRole
		}))).
		// Only whether a password Secret exists matters here: names, never data.
		Watches(&corev1.Secret{}, toWorld, builder.OnlyMetadata, builder.WithPredicates(inNamespace, predicate.Funcs{
			UpdateFunc: func(event.UpdateEvent) bool { return false },
		})).
		Build(r)
	if err != nil {
		return err
	}
	if r.ServiceCIDRs {
		if err := c.Watch(source.Kind(mgr.GetCache(), client.Object(&networkingv1.ServiceCIDR{}), toWorld, predicate.GenerationChangedPredicate{})); err != nil {
			return err
		}
	}
	// FRR-K8s's kinds come from a cache of their own, made and started once their
	// CRDs exist; then the watches start, and the snapshot reads from it.
	frrK8sWatches := func() error {
		cch, err := r.FRRK8s.newCache()
		if err != nil {
			return fmt.Errorf("creating the cache of FRR-K8s's kinds: %w", err)
		}
		if err := mgr.Add(cch); err != nil {
			return err
		}
		for _, src := range []source.TypedSource[ctrl.Request]{
			source.Kind(cch, client.Object(&frrv1beta1.FRRNodeState{}), toWorld, frrNodeStateResultChanged()),
			source.Kind(cch, client.Object(&frrv1beta1.FRRConfiguration{}), toWorld, predicate.NewPredicateFuncs(func(o client.Object) bool {
				return o.GetNamespace() == r.FRRK8sNamespace && o.GetLabels()[evpnv1.ManagedByLabel] == evpnv1.ManagedByValue
			})),
		} {
			if err := c.Watch(src); err != nil {
				return err
			}
		}
		r.FRRK8s.cache = cch
		r.FRRK8s.installed.Store(true)
		return nil
	}
	if r.FRRK8s == nil {
		return errors.New("EVPNReconciler.FRRK8s is required")
	}
	// Decided before the first evaluation, so that a controller that restarts
	// with FRR-K8s installed never reports it missing for a moment.
	installed, err := r.FRRK8s.check()
	if err != nil {
		return err
	}
	if installed {
		return frrK8sWatches()
	}
	r.FRRK8s.onInstalled = frrK8sWatches
	r.FRRK8s.changed = make(chan event.GenericEvent, 1)
	if err := c.Watch(source.Channel(r.FRRK8s.changed, toWorld)); err != nil {
		return err
	}
	return mgr.Add(r.FRRK8s)
}

// nodeIndexChanged passes Node updates that change the index annotation (creations
// and deletions pass too).
func nodeIndexChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return e.ObjectOld.GetAnnotations()[evpnv1.NodeIndexAnnotation] != e.ObjectNew.GetAnnotations()[evpnv1.NodeIndexAnnotation]
	}}
}

// frrNodeStateResultChanged ignores FRRNodeState updates that only change the
// running config text; only the results matter here.
func frrNodeStateResultChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*frrv1beta1.FRRNodeState)
		n, ok2 := e.ObjectNew.(*frrv1beta1.FRRNodeState)
		if !ok1 || !ok2 {
			return true
		}
		return o.Status.LastConversionResult != n.Status.LastConversionResult || o.Status.LastReloadResult != n.Status.LastReloadResult
	}}
}
