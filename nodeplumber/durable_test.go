package nodeplumber

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// plumberLab is one node's plumber against a real API server, real namespaces and
// the router's real FRR behind a real reloader, with every write counted.
type plumberLab struct {
	*lab
	c         client.Client
	ns        string
	router    *frrinstance.Instance
	reloader  *countingApplier
	apiWrites *atomic.Int64
	// hang makes every API write wait until its request is given up.
	hang      atomic.Bool
	stateFile string
	u         *evpnv1.Underlay
}

func newPlumberLab(t *testing.T) *plumberLab {
	cfg := startAPI(t)
	frrinstance.Require(t)
	p := &plumberLab{lab: newLab(t), ns: "frr-k8s-evpn-system", apiWrites: &atomic.Int64{}}
	router, reloader := p.lab.routerFRR(t)
	p.router, p.reloader = router, &countingApplier{next: directApplier{reloader}}
	p.stateFile = filepath.Join(t.TempDir(), "state", "applied.json")
	cfg = rest.CopyConfig(cfg)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTrip(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodGet {
				p.apiWrites.Add(1)
				if p.hang.Load() {
					<-req.Context().Done()
					return nil, req.Context().Err()
				}
			}
			return rt.RoundTrip(req)
		})
	}
	var err error
	if p.c, err = client.New(cfg, client.Options{Scheme: Scheme()}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	must(t, p.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.ns}}))
	must(t, p.c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1",
		Annotations: map[string]string{evpnv1.NodeIndexAnnotation: "0"}}}))
	p.u = seedUnderlay()
	p.u.Namespace, p.u.ResourceVersion, p.u.Generation = p.ns, "", 0
	must(t, p.c.Create(ctx, p.u))
	p.publish(t)
	return p
}

// publish does what the controller does when it accepts the Underlay's spec.
func (p *plumberLab) publish(t *testing.T) {
	t.Helper()
	accept(p.u)
	must(t, p.c.Status().Update(context.Background(), p.u))
}

// update edits the Underlay's spec and publishes it.
func (p *plumberLab) update(t *testing.T, edit func(*evpnv1.UnderlaySpec)) {
	t.Helper()
	must(t, p.c.Get(context.Background(), client.ObjectKeyFromObject(p.u), p.u))
	edit(&p.u.Spec)
	must(t, p.c.Update(context.Background(), p.u))
	p.publish(t)
}

// plumber is a freshly started plumber: nothing in memory, the same state file.
func (p *plumberLab) plumber(stateFile string) *Reconciler {
	return &Reconciler{Client: p.c, NodeName: "node1", Namespace: p.ns, Netns: p.lab.router, Kernel: p.k, Reloader: p.reloader, StateFile: stateFile}
}

func (p *plumberLab) setIndex(t *testing.T, idx string) {
	t.Helper()
	node := &corev1.Node{}
	must(t, p.c.Get(context.Background(), client.ObjectKey{Name: "node1"}, node))
	node.Annotations[evpnv1.NodeIndexAnnotation] = idx
	must(t, p.c.Update(context.Background(), node))
}

func (p *plumberLab) reconcile(t *testing.T, r *Reconciler) {
	t.Helper()
	if _, err := r.Reconcile(context.Background(), nodeKey); err != nil {
		t.Fatalf("%v\n%s", err, p.router.Logs())
	}
}

func (p *plumberLab) status(t *testing.T) evpnv1.RouterNodeStatusStatus {
	t.Helper()
	var st evpnv1.RouterNodeStatus
	must(t, p.c.Get(context.Background(), client.ObjectKey{Namespace: p.ns, Name: "node1"}, &st))
	return st.Status
}

// readyIs checks the node's Ready condition.
func readyIs(t *testing.T, st evpnv1.RouterNodeStatusStatus, status metav1.ConditionStatus, reason, msg string) {
	t.Helper()
	c := meta.FindStatusCondition(st.Conditions, evpnv1.ConditionReady)
	if c == nil || c.Status != status || c.Reason != reason || !strings.Contains(c.Message, msg) {
		t.Errorf("Ready = %+v, want %s/%s with %q", c, status, reason, msg)
	}
}

// runs checks that the node still runs the underlay: the NIC in the router
// namespace and the VTEP on its loopback.
func (p *plumberLab) runs(t *testing.T, vtep string) {
	t.Helper()
	h := p.handle(t, p.lab.router)
	if _, err := h.LinkByName("eth1"); err != nil {
		t.Errorf("the NIC left the router netns: %v", err)
	}
	if got := strings.Join(addrsOf(t, h, "lo"), " "); !strings.Contains(got, vtep+"/32") {
		t.Errorf("lo holds %s, want the VTEP %s/32", got, vtep)
	}
}

// noWrites runs fn and fails if it made a netlink write or handed FRR a change.
func (p *plumberLab) noWrites(t *testing.T, what string, fn func()) {
	t.Helper()
	kw, calls := p.k.Writes(), p.reloader.calls.Load()
	fn()
	if n := p.k.Writes() - kw; n != 0 {
		t.Errorf("%s: %d netlink writes", what, n)
	}
	if p.reloader.calls.Load() != calls && p.reloader.last.Load() != frrreload.ResultUnchanged {
		t.Errorf("%s: FRR got a changed configuration (%v)", what, p.reloader.last.Load())
	}
}

// TestRestartKeepsWhatRunsWhileTheDecisionFails: a node whose decision cannot be
// carried out (here its index has no address in the vtepCIDR) keeps running what
// it ran, across a restart of its plumber, and says why on its status; a plumber
// that lost its state file touches nothing until the decision is whole again.
func TestRestartKeepsWhatRunsWhileTheDecisionFails(t *testing.T) {
	p := newPlumberLab(t)
	p.reconcile(t, p.plumber(p.stateFile))
	p.runs(t, "100.65.0.1")
	readyIs(t, p.status(t), metav1.ConditionTrue, ReasonApplied, "")

	p.setIndex(t, "300") // a /24 has no host 301
	for _, tc := range []struct{ name, stateFile string }{{"restarted plumber", p.stateFile}, {"state file lost", filepath.Join(t.TempDir(), "none.json")}} {
		p.noWrites(t, tc.name, func() { p.reconcile(t, p.plumber(tc.stateFile)) })
		p.runs(t, "100.65.0.1")
		st := p.status(t)
		readyIs(t, st, metav1.ConditionFalse, placement.ReasonAddressOutOfRange, "vtepCIDR 100.65.0.0/24 has no address for node node1: its index 300 needs host 301")
		if st.Underlay == nil || st.Underlay.Ready || !strings.Contains(st.Underlay.Message, "index 300") {
			t.Errorf("%s: underlay state %+v", tc.name, st.Underlay)
		}
	}
	if running := p.router.Vtysh(t, "show running-config"); !strings.Contains(running, "neighbor 192.168.11.2 remote-as 64612") {
		t.Errorf("FRR lost the underlay:\n%s", running)
	}

	p.setIndex(t, "0")
	r := p.plumber(p.stateFile)
	p.noWrites(t, "decision whole again", func() { p.reconcile(t, r) })
	readyIs(t, p.status(t), metav1.ConditionTrue, ReasonApplied, "")
}

// TestNodeFailuresAreReported: a missing password Secret and a missing NIC are on
// the node's status with their text, and keep what runs; once the Secret exists
// the node runs the new version.
func TestNodeFailuresAreReported(t *testing.T) {
	p := newPlumberLab(t)
	r := p.plumber(p.stateFile)
	p.reconcile(t, r)
	ctx := context.Background()

	p.update(t, func(s *evpnv1.UnderlaySpec) {
		s.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: "leaf"}
	})
	p.noWrites(t, "missing Secret", func() { p.reconcile(t, r) })
	st := p.status(t)
	readyIs(t, st, metav1.ConditionFalse, ReasonSecretMissing, `neighbor 192.168.11.2: password Secret "leaf" not found`)
	if st.Underlay == nil || st.Underlay.ObservedGeneration != p.u.Generation-1 {
		t.Errorf("the node must report the generation it still runs: %+v", st.Underlay)
	}
	p.runs(t, "100.65.0.1")

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: "leaf"}, Data: map[string][]byte{"password": []byte("s3cret")}}
	must(t, p.c.Create(ctx, secret))
	p.reconcile(t, r)
	readyIs(t, p.status(t), metav1.ConditionTrue, ReasonApplied, "")
	if running := p.router.Vtysh(t, "show running-config"); !strings.Contains(running, "neighbor 192.168.11.2 password s3cret") {
		t.Errorf("FRR did not get the password:\n%s", running)
	}
	// Secrets are not watched: a changed password is read on the next periodic pass.
	secret.Data["password"] = []byte("r0tated")
	must(t, p.c.Update(ctx, secret))
	res, err := r.Reconcile(ctx, nodeKey)
	must(t, err)
	if res.RequeueAfter == 0 || res.RequeueAfter > passwordResync {
		t.Errorf("a node with password Secrets must come back within %v to read them again, got %+v", passwordResync, res)
	}
	if running := p.router.Vtysh(t, "show running-config"); !strings.Contains(running, "neighbor 192.168.11.2 password r0tated") {
		t.Errorf("FRR did not get the changed password:\n%s", running)
	}

	p.update(t, func(s *evpnv1.UnderlaySpec) { s.NICs = append(s.NICs, "eth9") })
	p.noWrites(t, "missing NIC", func() { p.reconcile(t, r) })
	readyIs(t, p.status(t), metav1.ConditionFalse, ReasonNICMissing, "NIC eth9 is neither on the host nor in netns")
	p.runs(t, "100.65.0.1")
}

// TestGoneNodeOrDecisionTearsNothingDown: the Node object deleted, or its
// Underlay's update rejected and the plumber restarted: the node keeps running.
func TestGoneNodeOrDecisionTearsNothingDown(t *testing.T) {
	p := newPlumberLab(t)
	p.reconcile(t, p.plumber(p.stateFile))
	ctx := context.Background()

	// A rejected update: the controller leaves status.accepted as it was.
	must(t, p.c.Get(ctx, client.ObjectKeyFromObject(p.u), p.u))
	p.u.Spec.VTEPCIDR = "100.99.0.0/24"
	must(t, p.c.Update(ctx, p.u))
	meta.SetStatusCondition(&p.u.Status.Conditions, metav1.Condition{Type: evpnv1.ConditionAccepted, Status: metav1.ConditionFalse,
		Reason: placement.ReasonOverlappingCIDR, ObservedGeneration: p.u.Generation})
	must(t, p.c.Status().Update(ctx, p.u))
	aw := p.apiWrites.Load()
	p.noWrites(t, "rejected update, restarted plumber", func() { p.reconcile(t, p.plumber(filepath.Join(t.TempDir(), "lost.json"))) })
	if n := p.apiWrites.Load() - aw; n != 0 {
		t.Errorf("a restarted plumber with nothing to change made %d API writes", n)
	}
	p.runs(t, "100.65.0.1")

	must(t, p.c.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}))
	p.noWrites(t, "Node object deleted", func() { p.reconcile(t, p.plumber(p.stateFile)) })
	p.runs(t, "100.65.0.1")

	// Deleting the Underlay is a user's request: now the NIC goes back.
	must(t, p.c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1", Annotations: map[string]string{evpnv1.NodeIndexAnnotation: "0"}}}))
	must(t, p.c.Delete(ctx, p.u))
	p.reconcile(t, p.plumber(p.stateFile))
	if _, err := p.handle(t, p.host).LinkByName("eth1"); err != nil {
		t.Errorf("the NIC did not come back when the Underlay was deleted: %v", err)
	}
}

// TestPlumberWakesOnlyForItsDecisions: status writes that change counts or
// conditions, and objects that do not select the node, wake no plumber.
func TestPlumberWakesOnlyForItsDecisions(t *testing.T) {
	node := &metav1.PartialObjectMetadata{}
	node.Name, node.Labels = "node1", map[string]string{"group": "a"}
	pub := func(sel map[string]string) *evpnv1.L3VNI {
		l := seedL3VNI()
		l.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: sel}
		l.Status.Accepted = &evpnv1.AcceptedL3VNI{Generation: l.Generation, Spec: l.Spec}
		return &l
	}
	mine, other := pub(map[string]string{"group": "a"}), pub(map[string]string{"group": "b"})
	countsOnly := mine.DeepCopy()
	countsOnly.Status.Ready, countsOnly.Status.ReadyNodes = "3/4", 3
	newVersion := mine.DeepCopy()
	newVersion.Status.Accepted.Generation = 3
	movedAway := mine.DeepCopy()
	movedAway.Status.Accepted.Spec.NodeSelector = other.Spec.NodeSelector
	labels := node.Labels
	tests := []struct {
		name     string
		old, cur client.Object
		want     bool
	}{
		{"a status write of counts and conditions", mine, countsOnly, false},
		{"a new published version that selects the node", mine, newVersion, true},
		{"a published version that stops selecting the node", mine, movedAway, true},
		{"a new version of an object for other nodes", other, func() client.Object { o := other.DeepCopy(); o.Status.Accepted.Generation = 5; return o }(), false},
		{"a new object that selects the node", nil, mine, true},
		{"a new object for other nodes", nil, other, false},
	}
	for _, tt := range tests {
		if got := decisionConcerns(tt.old, tt.cur, labels); got != tt.want {
			t.Errorf("%s: wakes the plumber = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A status write that hangs (an API server that does not answer) is given up, so
// that the plumber's one worker is free to retry what the node needs.
func TestHangingStatusWriteIsGivenUp(t *testing.T) {
	p := newPlumberLab(t)
	r := p.plumber(p.stateFile)
	r.StatusTimeout = 500 * time.Millisecond
	p.hang.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := r.Reconcile(context.Background(), nodeKey)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a pass whose status write hangs: %v; want it given up", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a pass whose status write hangs did not return")
	}
	p.hang.Store(false)
	p.reconcile(t, r)
	readyIs(t, p.status(t), metav1.ConditionTrue, ReasonApplied, "")
}
