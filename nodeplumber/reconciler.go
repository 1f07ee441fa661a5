package nodeplumber

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// ConfigApplier hands a configuration to the router's FRR (frrreload.Client).
type ConfigApplier interface {
	Apply(ctx context.Context, config string) (frrreload.Response, error)
	// Health says why FRR does not run the last good configuration (nil: it does).
	Health(ctx context.Context) error
	// State reads what the router's FRR says about EVPN.
	State(ctx context.Context) (frrstate.Router, error)
}

// Reconciler is one node's plumber: it runs on its node what the controller
// published (the accepted version of each Underlay and L3VNI, in their status),
// placed by the rules the controller shares, and reports it.
type Reconciler struct {
	Client    client.Client
	NodeName  string
	Namespace string
	// Netns is the router's named network namespace.
	Netns string
	// NodeIPs are the node's own addresses (the pod's status.hostIPs): an
	// underlay NIC that carries one is never moved.
	NodeIPs  []netip.Addr
	Kernel   *Kernel
	Reloader ConfigApplier
	Recorder recorder.EventRecorder
	// StateFile keeps the state the node last applied, so that a restarted
	// plumber keeps running what works while part of its decision fails (empty:
	// in memory only). It belongs on tmpfs (/run): a reboot loses the kernel state
	// it describes too.
	StateFile string
	// RouterCheck is how often the router is asked whether FRR still runs the
	// last good configuration (watchRouter); 0: never.
	RouterCheck time.Duration
	// LiveInterval is how often the router's EVPN state is read for the node's
	// status (watchLive); 0: never. A status write follows only a change.
	LiveInterval time.Duration
	// StatusTimeout bounds a status write (0: 15 s).
	StatusTimeout time.Duration

	// live is the router's EVPN state at the last read that changed it.
	live atomic.Pointer[Live]
	// repost makes the next pass post the configuration again, even unchanged.
	repost atomic.Bool
	// lastConfig is the configuration the router last accepted: an unchanged one
	// is not sent again, so a reconcile with nothing to change reloads nothing.
	lastConfig string
	// lastReload is the last reload tried, goodReload the one that made FRR run
	// goodConfig.
	lastReload, goodReload *evpnv1.ReloadResult
	goodConfig             string
	// reloadWaiting: lastReload failed without a refusal (Outcome.ReloadWaiting).
	reloadWaiting bool
	// applied is the state the node last applied in full (nil until known).
	applied *State
	loaded  bool
	// refused are the L3VNI stanzas FRR refused, by name: not tried again until
	// they change.
	refused map[string]refusal
}

var nodeKey = ctrl.Request{NamespacedName: types.NamespacedName{Name: "node"}}

// Local problems retry on their own: nothing the plumber watches says when a NIC
// appears.
const localRetry = 30 * time.Second

// passwordResync is how often a node whose Underlay has password Secrets reads
// them again, so that a changed password reaches FRR. Plumbers may only get the
// Secrets granted to them, not watch them: a minute is the price of that, paid
// once per Secret per node (a pass that finds nothing changed writes nothing).
const passwordResync = time.Minute

// Reconcile runs the node's part of the published decision and reports it.
func (r *Reconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	p, err := r.decide(ctx)
	if err != nil || p == nil {
		return ctrl.Result{}, err
	}
	out := Outcome{Reload: r.lastReload, ReloadWaiting: r.reloadWaiting, Live: r.live.Load()}
	var result ctrl.Result
	if p.state == nil {
		out.Running = State{Netns: r.Netns}
	} else {
		out.Running = *p.state
		writesBefore, pass := r.Kernel.Writes(), prometheus.NewTimer(passSeconds)
		done := r.run(ctx, *p.state, p.in.status)
		pass.ObserveDuration()
		netlinkWrites.Add(float64(r.Kernel.Writes() - writesBefore))
		out.Running, out.ApplyErr, out.Reload, out.ReloadWaiting, result = done.state, done.err, r.lastReload, r.reloadWaiting, done.result
		for name, problem := range done.failed {
			p.decision.L3VNIProblems[name] = problem
		}
		// One line per pass: what a no-op pass costs is visible in the logs (the lab
		// counts it when the plumber restarts).
		log.Info("reconciled", "netlinkWrites", r.Kernel.Writes()-writesBefore, "reloaded", done.reloaded, "plan", p.plan.String())
	}
	if problemsIn(p.decision) && result.RequeueAfter == 0 {
		result.RequeueAfter = localRetry
	}
	if namesPasswords(p.plan) && (result.RequeueAfter == 0 || result.RequeueAfter > passwordResync) {
		result.RequeueAfter = passwordResync
	}
	status := NodeStatus(p.plan, p.decision, out, storedConditions(p.in.status), metav1.NewTime(time.Now().Truncate(time.Second)))
	return result, errors.Join(out.ApplyErr, r.writeStatus(ctx, p.in.status, status))
}

// pass is one pass's decision.
type pass struct {
	in       inputs
	plan     placement.NodePlan
	decision Decision
	// state is what the node should run; nil when nothing may be touched.
	state *State
}

// decide reads the published decisions and the node's facts and decides what the
// node runs; nil when its Node object is gone (nothing to decide from: what runs
// keeps running).
func (r *Reconciler) decide(ctx context.Context) (*pass, error) {
	node := &metav1.PartialObjectMetadata{}
	node.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
	if err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, node); err != nil {
		if apierrors.IsNotFound(err) {
			ctrl.LoggerFrom(ctx).Info("this node's Node object is gone: the router keeps running as it is")
			return nil, nil
		}
		return nil, fmt.Errorf("getting node %s: %w", r.NodeName, err)
	}
	in, err := r.read(ctx)
	if err != nil {
		return nil, err
	}
	index, hasIndex := addressing.ParseNodeIndex(node.Annotations)
	pn := placement.Node{Name: r.NodeName, Labels: node.Labels, Index: index, HasIndex: hasIndex}
	if in.status != nil && in.status.Status.Underlay != nil {
		pn.RunningUnderlay = in.status.Status.Underlay.Name
	}
	underlays, l3vnis := placement.Published(in.underlays, in.l3vnis)
	p := &pass{in: in, plan: placement.Place(pn, underlays, l3vnis)}
	p.decision = Desired(p.plan, r.facts(ctx, p.plan))
	r.loadApplied(ctx, in.status)
	switch {
	case r.applied != nil:
		s := Keep(p.decision, p.plan, r.applied)
		p.state = &s
	case problemsIn(p.decision):
		// Nothing says what the node runs (a lost state file): a partial decision
		// could tear down what works, so nothing is touched until it is whole.
	default:
		s := p.decision.State
		p.state = &s
	}
	if p.state != nil {
		p.state.Netns = r.Netns
	}
	return p, nil
}

// ran is what one pass carried out.
type ran struct {
	// state is what the node runs now.
	state State
	// failed says why the node does not run the version of an L3VNI it was asked
	// to (it runs the one it ran before, or none), by name.
	failed   map[string]*placement.Problem
	result   ctrl.Result
	reloaded bool
	err      error // a failure that concerns the whole node
}

// run carries out a state: devices, then FRR's reload when its configuration
// changed, then the devices' second step (Kernel.Apply says why). A failure that
// concerns one L3VNI only (the kernel refuses its devices, FRR its stanza) sets
// that L3VNI back to the version the node ran, or leaves it out, and the others
// go ahead. A failed reload of the whole leaves devices and FRR as they are.
func (r *Reconciler) run(ctx context.Context, s State, stored *evpnv1.RouterNodeStatus) ran {
	out := ran{failed: map[string]*placement.Problem{}}
	for name, p := range r.refusedIn(s) {
		out.failed[name] = p // FRR refused exactly this before: not again
		s = revert(s, name, r.applied)
	}
	if s, out.err = r.applyDevices(s, out.failed); out.err != nil {
		out.state = s
		return out
	}
	conf, err := frrtemplates.Render(s.FRR)
	if err != nil {
		out.state, out.err = s, fmt.Errorf("rendering the router's configuration: %w", err)
		return out
	}
	if r.repost.Swap(false) {
		r.lastConfig = "" // the router may have lost it: the reloader tells
	}
	if conf != r.lastConfig {
		var retry time.Duration
		asked := s
		s, retry, out.reloaded = r.reloadIsolated(ctx, s, conf, stored, out.failed)
		if retry > 0 { // FRR runs its last good configuration: nothing more to do
			out.state, out.result = s, ctrl.Result{RequeueAfter: retry}
			return out
		}
		if !reflect.DeepEqual(asked, s) { // L3VNIs set back: their devices too
			if s, out.err = r.applyDevices(s, out.failed); out.err != nil {
				out.state = s
				return out
			}
		}
	}
	saved := s
	finish := prometheus.NewTimer(kernelSeconds.WithLabelValues("finish"))
	err = r.Kernel.Finish(s)
	finish.ObserveDuration()
	if err != nil {
		var lf L3VNIFailures
		if !errors.As(err, &lf) {
			out.state, out.err = s, err
			return out
		}
		for name, e := range lf {
			out.failed[name] = &placement.Problem{Reason: ReasonApplyFailed, Message: fmt.Sprintf("L3VNI %s: %v", name, e)}
			saved = revert(saved, name, r.applied)
		}
	}
	r.saveApplied(ctx, saved)
	out.state = s
	return out
}

// applyDevices makes the devices of s. An L3VNI the kernel refuses is set back
// to the version the node ran and the kernel asked again; when that fails too,
// it is left out. A node whose applied state is unknown stops at the first
// failure: nothing says what of it may go.
func (r *Reconciler) applyDevices(s State, failed map[string]*placement.Problem) (State, error) {
	for round := 0; ; round++ {
		apply := prometheus.NewTimer(kernelSeconds.WithLabelValues("apply"))
		err := r.Kernel.Apply(s)
		apply.ObserveDuration()
		var lf L3VNIFailures
		if err == nil || !errors.As(err, &lf) || r.applied == nil {
			return s, err
		}
		for name, e := range lf {
			failed[name] = &placement.Problem{Reason: ReasonApplyFailed, Message: fmt.Sprintf("L3VNI %s: %v", name, e)}
			if round == 0 {
				s = revert(s, name, r.applied)
			} else {
				s = revert(s, name, nil)
			}
		}
	}
}

// reloadIsolated hands FRR the configuration of s. When FRR refuses it and the
// node ran a configuration before, the L3VNIs that changed since are set back;
// if FRR takes that, each changed one is tried again alone on top, and those
// FRR refuses stay set back (remembered, so that the same stanza is not tried
// on every pass). It returns the state the node runs, and a retry delay when
// FRR took nothing new.
func (r *Reconciler) reloadIsolated(ctx context.Context, s State, conf string, stored *evpnv1.RouterNodeStatus, failed map[string]*placement.Problem) (State, time.Duration, bool) {
	reloaded, err := r.reload(ctx, conf, stored)
	if err == nil {
		return s, 0, reloaded
	}
	changed := changedL3VNIs(s, r.applied)
	if !errors.Is(err, frrreload.ErrRejected) || r.applied == nil || len(changed) == 0 {
		return s, reloadRetry(err), false
	}
	base := s
	for _, name := range changed {
		base = revert(base, name, r.applied)
	}
	if reloaded, err = r.reloadState(ctx, base, stored); err != nil {
		return s, reloadRetry(err), false // not the changed L3VNIs' fault
	}
	for _, name := range changed {
		try := takeL3VNI(base, name, &s)
		again, err := r.reloadState(ctx, try, stored)
		if err != nil {
			failed[name] = &placement.Problem{Reason: ReasonReloadFailed, Message: fmt.Sprintf("L3VNI %s: FRR refused its configuration: %v", name, err)}
			r.refuse(s, name, failed[name])
			continue
		}
		base, reloaded = try, reloaded || again
	}
	return base, 0, reloaded
}

func (r *Reconciler) reloadState(ctx context.Context, s State, stored *evpnv1.RouterNodeStatus) (bool, error) {
	conf, err := frrtemplates.Render(s.FRR)
	if err != nil {
		return false, fmt.Errorf("rendering the router's configuration: %w", err)
	}
	return r.reload(ctx, conf, stored)
}

// reload hands FRR a configuration and records the result; the one FRR already
// runs is not sent again.
func (r *Reconciler) reload(ctx context.Context, conf string, stored *evpnv1.RouterNodeStatus) (bool, error) {
	if conf == r.lastConfig {
		r.lastReload, r.reloadWaiting = r.goodReload, false // back to it after a refused one
		return false, nil
	}
	res := evpnv1.ReloadResult{Time: metav1.NewTime(time.Now().Truncate(time.Second)), Result: evpnv1.ReloadSuccess}
	timer := prometheus.NewTimer(reloadSeconds)
	resp, err := r.Reloader.Apply(ctx, conf)
	timer.ObserveDuration()
	if err != nil {
		reloads.WithLabelValues(frrreload.ResultFailure).Inc()
		res.Result, res.Message = evpnv1.ReloadFailure, err.Error()
		r.lastReload, r.reloadWaiting = &res, !errors.Is(err, frrreload.ErrRejected)
		return false, err
	}
	reloads.WithLabelValues(resp.Result).Inc()
	reloaded := resp.Result != frrreload.ResultUnchanged
	switch {
	case reloaded:
	case conf == r.goodConfig && r.goodReload != nil:
		// Posted again (repost) and FRR still ran it: the reload that made it
		// run is still the one that counts, and rewriting its time would be an
		// API write for nothing.
		res = *r.goodReload
	case r.lastReload == nil:
		// A restarted plumber whose FRR already runs this config: likewise.
		if prev := recordedReload(stored); prev != nil {
			res = *prev
		}
	}
	r.lastConfig, r.goodConfig, r.lastReload, r.goodReload, r.reloadWaiting = conf, conf, &res, &res, false
	return reloaded, nil
}

func reloadRetry(err error) time.Duration {
	if errors.Is(err, frrreload.ErrRejected) {
		return 30 * time.Second // FRR refused it: only a new spec or a restart helps
	}
	return 2 * time.Second // the reloader is not answering yet: its sidecar starts with us
}

// refusal is an L3VNI's part of a configuration FRR refused.
type refusal struct {
	part    *l3vniPart
	problem *placement.Problem
}

func (r *Reconciler) refuse(s State, name string, p *placement.Problem) {
	if r.refused == nil {
		r.refused = map[string]refusal{}
	}
	r.refused[name] = refusal{part: l3vniOf(s, name), problem: p}
}

// refusedIn returns the L3VNIs of s whose part FRR refused before, exactly as s
// has them; it forgets refusals that s no longer repeats.
func (r *Reconciler) refusedIn(s State) map[string]*placement.Problem {
	out := map[string]*placement.Problem{}
	for name, ref := range r.refused {
		if reflect.DeepEqual(l3vniOf(s, name), ref.part) {
			out[name] = ref.problem
		} else {
			delete(r.refused, name)
		}
	}
	return out
}

// inputs are the API objects one pass reads.
type inputs struct {
	underlays []evpnv1.Underlay
	l3vnis    []evpnv1.L3VNI
	status    *evpnv1.RouterNodeStatus // nil when the node has none yet
}

func (r *Reconciler) read(ctx context.Context) (inputs, error) {
	var in inputs
	var underlays evpnv1.UnderlayList
	var l3vnis evpnv1.L3VNIList
	if err := r.Client.List(ctx, &underlays, client.InNamespace(r.Namespace)); err != nil {
		return in, fmt.Errorf("listing Underlays: %w", err)
	}
	if err := r.Client.List(ctx, &l3vnis, client.InNamespace(r.Namespace)); err != nil {
		return in, fmt.Errorf("listing L3VNIs: %w", err)
	}
	in.underlays, in.l3vnis = underlays.Items, l3vnis.Items
	st := &evpnv1.RouterNodeStatus{}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: r.NodeName}, st)
	switch {
	case err == nil:
		in.status = st
	case !apierrors.IsNotFound(err):
		return in, fmt.Errorf("getting RouterNodeStatus %s: %w", r.NodeName, err)
	}
	return in, nil
}

// facts reads what only the node knows: its NICs, its routes and the neighbors'
// passwords.
func (r *Reconciler) facts(ctx context.Context, plan placement.NodePlan) NodeFacts {
	var f NodeFacts
	if plan.Underlay == nil {
		return f
	}
	f.Passwords = map[string]string{}
	for _, n := range plan.Underlay.Spec.Neighbors {
		if n.PasswordSecret == nil {
			continue
		}
		// Read from the API server, never cached: plumbers may get only the
		// Secrets granted to them, and may not list or watch any.
		var s corev1.Secret
		switch err := r.Client.Get(ctx, client.ObjectKey{Namespace: r.Namespace, Name: n.PasswordSecret.Name}, &s); {
		case err == nil:
			if pw, ok := s.Data["password"]; ok {
				f.Passwords[n.PasswordSecret.Name] = string(pw)
			}
		case !apierrors.IsNotFound(err):
			if f.SecretErrors == nil {
				f.SecretErrors = map[string]error{}
			}
			f.SecretErrors[n.PasswordSecret.Name] = err
		} // Desired reports a missing or unreadable Secret with the neighbor's name
	}
	var nics []string
	for _, n := range plan.Underlay.Spec.NICs {
		nics = append(nics, string(n))
	}
	f.UnderlayMTU, f.NICInUse, f.HostRoutes, f.NICError = r.Kernel.ReadNode(r.Netns, nics, r.NodeIPs)
	return f
}

// namesPasswords reports whether the node's Underlay has password Secrets.
func namesPasswords(plan placement.NodePlan) bool {
	if plan.Underlay == nil {
		return false
	}
	for _, n := range plan.Underlay.Spec.Neighbors {
		if n.PasswordSecret != nil {
			return true
		}
	}
	return false
}

func problemsIn(d Decision) bool { return d.UnderlayProblem != nil || len(d.L3VNIProblems) > 0 }

// loadApplied recovers, once, what the node runs: the state file, else nothing
// when the node's status says it runs nothing (a new node); else it stays unknown.
func (r *Reconciler) loadApplied(ctx context.Context, status *evpnv1.RouterNodeStatus) {
	if r.loaded {
		return
	}
	r.loaded = true
	if r.StateFile != "" {
		b, err := os.ReadFile(r.StateFile)
		if err == nil {
			var s State
			if err := json.Unmarshal(b, &s); err == nil {
				r.applied = &s
				return
			}
			ctrl.LoggerFrom(ctx).Error(err, "ignoring an unreadable state file", "file", r.StateFile)
		} else if !errors.Is(err, os.ErrNotExist) {
			ctrl.LoggerFrom(ctx).Error(err, "ignoring an unreadable state file", "file", r.StateFile)
		}
	}
	if status == nil || (status.Status.Underlay == nil && len(status.Status.L3VNIs) == 0) {
		r.applied = &State{}
	}
}

// saveApplied remembers a state the node runs in full.
func (r *Reconciler) saveApplied(ctx context.Context, s State) {
	if r.applied != nil && reflect.DeepEqual(*r.applied, s) {
		return
	}
	c := s
	r.applied = &c
	if r.StateFile == "" {
		return
	}
	b, err := json.Marshal(s)
	if err == nil {
		err = writeFileAtomic(r.StateFile, b)
	}
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "saving the applied state (kept in memory)", "file", r.StateFile)
	}
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil { // it holds the fabric's passwords
		return err
	}
	return os.Rename(tmp, path)
}

// recordedReload is the successful reload recorded in the node's RouterNodeStatus
// as this pass read it, if any.
func recordedReload(stored *evpnv1.RouterNodeStatus) *evpnv1.ReloadResult {
	if stored == nil {
		return nil
	}
	if l := stored.Status.LastReload; l != nil && l.Result == evpnv1.ReloadSuccess {
		return l.DeepCopy()
	}
	return nil
}

func storedConditions(st *evpnv1.RouterNodeStatus) []metav1.Condition {
	if st == nil {
		return nil
	}
	return st.Status.Conditions
}

// writeStatus writes the node's RouterNodeStatus when it differs, and an Event
// when its Ready condition changes (readyEvent).
func (r *Reconciler) writeStatus(ctx context.Context, cur *evpnv1.RouterNodeStatus, want evpnv1.RouterNodeStatusStatus) error {
	// The plumber has one worker: a status write that hangs on an unreachable API
	// server (30-43 s seen in a loaded lab) would hold up the retry of a reload.
	timeout := r.StatusTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if cur == nil {
		cur = &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: r.NodeName}}
		err := r.Client.Create(ctx, cur)
		if apierrors.IsAlreadyExists(err) {
			// Created by the previous pass; the cache has not caught up yet.
			err = r.Client.Get(ctx, client.ObjectKeyFromObject(cur), cur)
		}
		if err != nil {
			return fmt.Errorf("creating RouterNodeStatus %s: %w", r.NodeName, err)
		}
	}
	if equality.Semantic.DeepEqual(cur.Status, want) {
		return nil
	}
	before := meta.FindStatusCondition(cur.Status.Conditions, evpnv1.ConditionReady)
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Status = want
	if err := r.Client.Status().Patch(ctx, cur, patch); err != nil {
		return fmt.Errorf("updating RouterNodeStatus %s: %w", r.NodeName, err)
	}
	statusWrites.Inc()
	after := meta.FindStatusCondition(want.Conditions, evpnv1.ConditionReady)
	e := readyEvent(before, after)
	if e != nil && e.Type == corev1.EventTypeWarning {
		failures.WithLabelValues(e.Reason).Inc()
	}
	if r.Recorder != nil && e != nil {
		r.Recorder.Eventf(cur, nil, e.Type, e.Reason, "Plumb", "%s", e.Note)
	}
	return nil
}

// SetupWithManager watches what concerns this node only: its own Node's labels
// and index, and the published decisions (status.accepted, deletions) of the
// objects that select it. Status writes that change only counts and conditions
// wake no plumber. Password Secrets are not watched (a plumber may not watch
// Secrets): they are read again every passwordResync.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	toNode := func(context.Context, client.Object) []ctrl.Request { return []ctrl.Request{nodeKey} }
	labels := func() map[string]string { return r.nodeLabels(context.Background()) }
	decisionChanged := predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return decisionConcerns(nil, e.Object, labels()) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return decisionConcerns(nil, e.Object, labels()) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return decisionConcerns(e.ObjectOld, e.ObjectNew, labels()) },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	// The node's own kernel and its router wake the plumber too.
	wake := make(chan event.GenericEvent)
	watchers := []func(context.Context, chan<- event.GenericEvent) error{r.watchDevices}
	if r.RouterCheck > 0 {
		watchers = append(watchers, r.watchRouter)
	}
	if r.LiveInterval > 0 {
		watchers = append(watchers, r.watchLive)
	}
	for _, w := range watchers {
		if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error { return w(ctx, wake) })); err != nil {
			return err
		}
	}
	return ctrl.NewControllerManagedBy(mgr).Named("nodeplumber").
		WatchesRawSource(source.Channel(wake, handler.EnqueueRequestsFromMapFunc(toNode))).
		Watches(&evpnv1.Underlay{}, handler.EnqueueRequestsFromMapFunc(toNode), builder.WithPredicates(decisionChanged)).
		Watches(&evpnv1.L3VNI{}, handler.EnqueueRequestsFromMapFunc(toNode), builder.WithPredicates(decisionChanged)).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(toNode), builder.OnlyMetadata, builder.WithPredicates(
			predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetName() == r.NodeName }),
			predicate.Or(predicate.LabelChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Complete(r)
}

// nodeLabels reads this node's labels from the cache (none when unknown).
func (r *Reconciler) nodeLabels(ctx context.Context) map[string]string {
	node := &metav1.PartialObjectMetadata{}
	node.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
	if err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, node); err != nil {
		return nil
	}
	return node.Labels
}

// decisionConcerns decides whether an event about an Underlay or L3VNI (old is
// nil for a creation or deletion) concerns a node with these labels: its
// published decision changed, and the old or the new version selects the node.
func decisionConcerns(old, cur client.Object, nodeLabels map[string]string) bool {
	if old != nil && publishedEqual(old, cur) {
		return false
	}
	for _, o := range []client.Object{old, cur} {
		if o == nil {
			continue
		}
		if sel, ok := publishedSelector(o); ok && placement.Selects(sel, nodeLabels) {
			return true
		}
	}
	return false
}

// publishedSelector is the node selector of an object's published version.
func publishedSelector(o client.Object) (*metav1.LabelSelector, bool) {
	switch v := o.(type) {
	case *evpnv1.Underlay:
		if a := placement.LastAccepted(v); a != nil {
			return a.Spec.NodeSelector, true
		}
	case *evpnv1.L3VNI:
		if a := placement.LastAcceptedL3VNI(v); a != nil {
			return a.Spec.NodeSelector, true
		}
	}
	return nil, false
}

// publishedEqual reports whether an update left the published decision alone.
func publishedEqual(old, cur client.Object) bool {
	if !old.GetDeletionTimestamp().Equal(cur.GetDeletionTimestamp()) {
		return false
	}
	switch o := old.(type) {
	case *evpnv1.Underlay:
		n, ok := cur.(*evpnv1.Underlay)
		return ok && equality.Semantic.DeepEqual(placement.LastAccepted(o), placement.LastAccepted(n))
	case *evpnv1.L3VNI:
		n, ok := cur.(*evpnv1.L3VNI)
		return ok && equality.Semantic.DeepEqual(placement.LastAcceptedL3VNI(o), placement.LastAcceptedL3VNI(n))
	}
	return false
}
