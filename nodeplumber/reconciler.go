package nodeplumber

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
)

// ConfigApplier hands a configuration to the router's FRR (frrreload.Client).
type ConfigApplier interface {
	Apply(ctx context.Context, config string) (frrreload.Response, error)
}

// Reconciler is one node's plumber: it reads the Underlay and L3VNIs that the
// controller accepted and that select its node, and makes the node match.
type Reconciler struct {
	Client    client.Client
	NodeName  string
	Namespace string
	// Netns is the router's named network namespace.
	Netns    string
	Kernel   *Kernel
	Reloader ConfigApplier
	Recorder recorder.EventRecorder

	// lastConfig is the configuration the router last accepted: an unchanged one
	// is not sent again, so a reconcile with nothing to change reloads nothing.
	lastConfig string
	lastReload *evpnv1.ReloadResult
	// lastAccepted keeps, by name, the last accepted version of each Underlay and
	// L3VNI applied here: an update the controller rejects leaves the node on
	// that version instead of tearing the object down (kept in memory only: a
	// restarted plumber applies accepted generations alone).
	lastAccepted map[string]client.Object
}

var nodeKey = ctrl.Request{NamespacedName: types.NamespacedName{Name: "node"}}

// Reconcile applies the node's desired state and reports it.
func (r *Reconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	node := &metav1.PartialObjectMetadata{}
	node.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
	if err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, node); err != nil {
		return ctrl.Result{}, fmt.Errorf("getting node %s: %w", r.NodeName, err)
	}
	index, ok := addressing.ParseNodeIndex(node.Annotations)
	if !ok {
		return ctrl.Result{}, nil // the controller has not indexed the node yet; its update will bring us back
	}
	underlay, l3vnis, err := r.selected(ctx, node.Labels)
	if err != nil {
		return ctrl.Result{}, err
	}
	facts := NodeFacts{Name: r.NodeName, Index: index}
	if underlay != nil {
		if facts.Passwords, err = r.passwords(ctx, underlay); err != nil {
			return ctrl.Result{}, err
		}
		if facts.UnderlayMTU, err = r.Kernel.NICMTU(r.Netns, nicNames(underlay)); err != nil {
			return ctrl.Result{}, err
		}
	}
	state, err := Desired(underlay, l3vnis, facts)
	if err != nil {
		r.event(node, "InvalidState", err.Error())
		return ctrl.Result{}, r.writeStatus(ctx, State{Netns: r.Netns}, err)
	}
	state.Netns = r.Netns

	writesBefore, reloaded := r.Kernel.Writes(), false
	defer func() {
		// One line per pass: what a no-op pass costs is visible in the logs (the lab
		// counts it when the plumber restarts).
		ctrl.LoggerFrom(ctx).Info("reconciled", "netlinkWrites", r.Kernel.Writes()-writesBefore, "reloaded", reloaded)
	}()
	if err := r.Kernel.Apply(state); err != nil {
		r.event(node, "ApplyFailed", err.Error())
		return ctrl.Result{}, errors.Join(err, r.writeStatus(ctx, state, err))
	}
	conf, err := frrtemplates.Render(state.FRR)
	if err != nil {
		return ctrl.Result{}, errors.Join(err, r.writeStatus(ctx, state, err))
	}
	if conf != r.lastConfig {
		res := evpnv1.ReloadResult{Time: metav1.NewTime(time.Now().Truncate(time.Second)), Result: evpnv1.ReloadSuccess}
		resp, err := r.Reloader.Apply(ctx, conf)
		if err != nil {
			// The devices stay: FRR keeps running its last good configuration.
			res.Result, res.Message = evpnv1.ReloadFailure, err.Error()
			r.lastReload = &res
			r.event(node, "ReloadFailed", err.Error())
			retry := 30 * time.Second // FRR refused it: only a new spec or a restart helps
			if resp.Result != frrreload.ResultFailure {
				retry = 2 * time.Second // the reloader is not answering yet: its sidecar starts with us
			}
			return ctrl.Result{RequeueAfter: retry}, r.writeStatus(ctx, state, nil)
		}
		reloaded = resp.Result != frrreload.ResultUnchanged
		if !reloaded && r.lastReload == nil {
			// A restarted plumber whose FRR already runs this config: the reload on
			// record is still the one that counts, and rewriting its time would be
			// an API write for nothing.
			if prev := r.recordedReload(ctx); prev != nil {
				res = *prev
			}
		}
		r.lastConfig, r.lastReload = conf, &res
	}
	if err := r.Kernel.Finish(state); err != nil {
		r.event(node, "ApplyFailed", err.Error())
		return ctrl.Result{}, errors.Join(err, r.writeStatus(ctx, state, err))
	}
	return ctrl.Result{}, r.writeStatus(ctx, state, nil)
}

// selected returns the accepted Underlay and L3VNIs that select a node with these
// labels. Only what the controller accepted at its current generation is applied.
func (r *Reconciler) selected(ctx context.Context, nodeLabels map[string]string) (*evpnv1.Underlay, []evpnv1.L3VNI, error) {
	var underlays evpnv1.UnderlayList
	var l3vnis evpnv1.L3VNIList
	if err := r.Client.List(ctx, &underlays, client.InNamespace(r.Namespace)); err != nil {
		return nil, nil, err
	}
	if err := r.Client.List(ctx, &l3vnis, client.InNamespace(r.Namespace)); err != nil {
		return nil, nil, err
	}
	if r.lastAccepted == nil {
		r.lastAccepted = map[string]client.Object{}
	}
	var underlay *evpnv1.Underlay
	sort.Slice(underlays.Items, func(i, j int) bool { return underlays.Items[i].Name < underlays.Items[j].Name })
	for i := range underlays.Items {
		u := &underlays.Items[i]
		if v, ok := acceptedVersion(r.lastAccepted, "Underlay/"+u.Name, u, u.Status.Conditions); ok && selects(v.Spec.NodeSelector, nodeLabels) {
			underlay = v
			break
		}
	}
	var out []evpnv1.L3VNI
	for i := range l3vnis.Items {
		l := &l3vnis.Items[i]
		if !l.DeletionTimestamp.IsZero() {
			continue
		}
		if v, ok := acceptedVersion(r.lastAccepted, "L3VNI/"+l.Name, l, l.Status.Conditions); ok && selects(v.Spec.NodeSelector, nodeLabels) {
			out = append(out, *v)
		}
	}
	return underlay, out, nil
}

// acceptedVersion returns obj when the controller accepted its current generation
// (and remembers it in last), else the last accepted version applied here; ok is
// false when there is neither.
func acceptedVersion[T client.Object](last map[string]client.Object, key string, obj T, conds []metav1.Condition) (T, bool) {
	if accepted(conds, obj.GetGeneration()) {
		last[key] = obj.DeepCopyObject().(client.Object)
		return obj, true
	}
	if v, ok := last[key]; ok {
		return v.(T), true
	}
	var none T
	return none, false
}

func accepted(conds []metav1.Condition, gen int64) bool {
	c := meta.FindStatusCondition(conds, evpnv1.ConditionAccepted)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == gen
}

func selects(sel *metav1.LabelSelector, nodeLabels map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(nodeLabels))
}

// passwords reads the neighbors' password Secrets.
func (r *Reconciler) passwords(ctx context.Context, u *evpnv1.Underlay) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range u.Spec.Neighbors {
		if n.PasswordSecret == nil {
			continue
		}
		var s corev1.Secret
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: u.Namespace, Name: n.PasswordSecret.Name}, &s)
		if apierrors.IsNotFound(err) {
			continue // Desired reports the missing password with the neighbor's name
		}
		if err != nil {
			return nil, fmt.Errorf("reading Secret %s: %w", n.PasswordSecret.Name, err)
		}
		if pw, ok := s.Data["password"]; ok {
			out[n.PasswordSecret.Name] = string(pw)
		}
	}
	return out, nil
}

func nicNames(u *evpnv1.Underlay) []string {
	var out []string
	for _, n := range u.Spec.NICs {
		out = append(out, string(n))
	}
	return out
}

// recordedReload is the successful reload recorded in the node's RouterNodeStatus, if any.
func (r *Reconciler) recordedReload(ctx context.Context) *evpnv1.ReloadResult {
	cur := &evpnv1.RouterNodeStatus{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.NodeName}, cur); err != nil {
		return nil
	}
	if l := cur.Status.LastReload; l != nil && l.Result == evpnv1.ReloadSuccess {
		return l.DeepCopy()
	}
	return nil
}

// writeStatus writes the node's RouterNodeStatus when it differs.
func (r *Reconciler) writeStatus(ctx context.Context, s State, applyErr error) error {
	want := evpnv1.RouterNodeStatusStatus{NodeName: r.NodeName, Netns: s.Netns, NICs: s.Underlay.NICs, LastReload: r.lastReload}
	if s.Underlay.Name != "" {
		want.VTEPIP, want.RouterID = s.Underlay.VTEP.String(), s.Underlay.RouterID.String()
		want.Underlay = &evpnv1.AppliedObject{Name: s.Underlay.Name, ObservedGeneration: s.Underlay.Generation}
	}
	reloaded := r.lastReload != nil && r.lastReload.Result == evpnv1.ReloadSuccess
	for _, l := range s.L3VNIs {
		st := evpnv1.L3VNINodeState{Name: l.Name, ObservedGeneration: l.Generation, VNI: l.VNI, VRF: l.VRF, Ready: applyErr == nil && reloaded}
		for _, a := range l.HostLegAddrs {
			st.HostLeg = append(st.HostLeg, a.String())
		}
		switch {
		case applyErr != nil:
			st.Message = applyErr.Error()
		case !reloaded && r.lastReload != nil:
			st.Message = "FRR reload failed: " + r.lastReload.Message
		}
		want.L3VNIs = append(want.L3VNIs, st)
	}

	cur := &evpnv1.RouterNodeStatus{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.NodeName}, cur)
	if apierrors.IsNotFound(err) {
		cur = &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: r.NodeName}}
		if err := r.Client.Create(ctx, cur); err != nil {
			return fmt.Errorf("creating RouterNodeStatus %s: %w", r.NodeName, err)
		}
	} else if err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(cur.Status, want) {
		return nil
	}
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Status = want
	if err := r.Client.Status().Patch(ctx, cur, patch); err != nil {
		return fmt.Errorf("updating RouterNodeStatus %s: %w", r.NodeName, err)
	}
	return nil
}

func (r *Reconciler) event(node client.Object, reason, msg string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, reason, "Plumb", "%s", msg)
	}
}

// SetupWithManager watches this node, the Underlays, L3VNIs and Secrets of the
// namespace; every event leads to one reconcile of the node.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	toNode := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []ctrl.Request { return []ctrl.Request{nodeKey} })
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeplumber").
		Watches(&evpnv1.Underlay{}, toNode).
		Watches(&evpnv1.L3VNI{}, toNode).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
			if o.GetName() != r.NodeName {
				return nil
			}
			return []ctrl.Request{nodeKey}
		}), builder.OnlyMetadata).
		Complete(r)
}
