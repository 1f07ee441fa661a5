package nodeplumber

import (
	"context"
	"net/http"
	"os"
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
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/controllers"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
)

// countingApplier counts the configurations handed to the router.
type countingApplier struct {
	next  ConfigApplier
	calls atomic.Int64
	last  atomic.Value // the last Result
}

func (c *countingApplier) Health(ctx context.Context) error { return c.next.Health(ctx) }
func (c *countingApplier) State(ctx context.Context) (frrstate.Router, error) {
	return c.next.State(ctx)
}

func (c *countingApplier) Apply(ctx context.Context, config string) (frrreload.Response, error) {
	c.calls.Add(1)
	resp, err := c.next.Apply(ctx, config)
	c.last.Store(resp.Result)
	return resp, err
}

// startAPI runs a real kube-apiserver and etcd with our CRDs for one test; the API
// layer runs on the host, not in the VM, where emulation makes it too slow.
func startAPI(t *testing.T) *rest.Config {
	t.Helper()
	if os.Getenv("EVPN_IN_VM") != "" {
		t.Skip("SKIP in the VM: the plumber's API tests run on the host layer")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("EVPN_REQUIRE_ALL_LAYERS") != "" {
			t.Fatal("KUBEBUILDER_ASSETS is not set: run make test")
		}
		t.Skip("SKIP: KUBEBUILDER_ASSETS is not set (make test builds the API server)")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true, ControlPlaneStartTimeout: 2 * time.Minute}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return cfg
}

// TestReconcilerUnderlay runs the plumber's reconciler against a real API server,
// real namespaces and a real FRR (the underlay alone: no VRF needed): the NIC moves,
// FRR gets the underlay config, RouterNodeStatus reports it; a second reconcile
// writes nothing anywhere; a failed reload is reported and the devices stay.
func TestReconcilerUnderlay(t *testing.T) {
	cfg := startAPI(t)
	frrinstance.Require(t)
	l := newLab(t)
	ctx := context.Background()

	router, frrReloader := l.routerFRR(t)
	reloader := &countingApplier{next: directApplier{frrReloader}}

	var apiWrites atomic.Int64
	cfg = rest.CopyConfig(cfg)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTrip(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodGet {
				apiWrites.Add(1)
			}
			return rt.RoundTrip(req)
		})
	}
	c, err := client.New(cfg, client.Options{Scheme: controllers.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ns := "frr-k8s-evpn-system"
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	must(t, c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1",
		Annotations: map[string]string{evpnv1.NodeIndexAnnotation: "0"}}}))
	u := seedUnderlay()
	u.Namespace, u.ResourceVersion, u.Generation = ns, "", 0
	must(t, c.Create(ctx, u))
	accept(u) // what the controller would say
	must(t, c.Status().Update(ctx, u))

	r := &Reconciler{Client: c, NodeName: "node1", Namespace: ns, Netns: l.router, Kernel: l.k, Reloader: reloader}
	if _, err := r.Reconcile(ctx, nodeKey); err != nil {
		t.Fatalf("%v\n%s", err, router.Logs())
	}
	if _, err := l.handle(t, l.router).LinkByName("eth1"); err != nil {
		t.Fatalf("the NIC was not moved: %v", err)
	}
	if running := router.Vtysh(t, "show running-config"); !strings.Contains(running, "neighbor 192.168.11.2 remote-as 64612") {
		t.Fatalf("FRR did not get the underlay:\n%s", running)
	}
	var st evpnv1.RouterNodeStatus
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "node1"}, &st))
	if st.Status.VTEPIP != "100.65.0.1" || st.Status.Underlay == nil || st.Status.Underlay.ObservedGeneration != u.Generation ||
		st.Status.LastReload == nil || st.Status.LastReload.Result != evpnv1.ReloadSuccess {
		t.Fatalf("RouterNodeStatus = %+v", st.Status)
	}

	// Nothing changed: no netlink write, no reload, no API write.
	kw, rl, aw := l.k.Writes(), reloader.calls.Load(), apiWrites.Load()
	if _, err := r.Reconcile(ctx, nodeKey); err != nil {
		t.Fatal(err)
	}
	if l.k.Writes() != kw || reloader.calls.Load() != rl || apiWrites.Load() != aw {
		t.Errorf("a reconcile with nothing to change made %d netlink writes, %d reloads, %d API writes",
			l.k.Writes()-kw, reloader.calls.Load()-rl, apiWrites.Load()-aw)
	}

	// A restarted plumber (nothing in memory) posts its config once; FRR already
	// runs it, so nothing is reloaded, and the reload on record stays as it was.
	restarted := &Reconciler{Client: c, NodeName: "node1", Namespace: ns, Netns: l.router, Kernel: l.k, Reloader: reloader}
	kw, aw = l.k.Writes(), apiWrites.Load()
	before := st.Status.LastReload.DeepCopy()
	time.Sleep(1100 * time.Millisecond) // lastReload's time has a one-second resolution
	if _, err := restarted.Reconcile(ctx, nodeKey); err != nil {
		t.Fatal(err)
	}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "node1"}, &st))
	if l.k.Writes() != kw || apiWrites.Load() != aw || reloader.last.Load() != frrreload.ResultUnchanged || !st.Status.LastReload.Time.Equal(&before.Time) {
		t.Errorf("a restarted plumber made %d netlink writes, %d API writes; the reloader answered %v; lastReload %v -> %v",
			l.k.Writes()-kw, apiWrites.Load()-aw, reloader.last.Load(), before, st.Status.LastReload)
	}
	r = restarted

	// An update the controller rejects leaves the node on the accepted version:
	// nothing is torn down, nothing reloaded.
	must(t, c.Get(ctx, client.ObjectKeyFromObject(u), u))
	accepted := u.Generation
	u.Spec.VTEPCIDR = "100.99.0.0/30"
	must(t, c.Update(ctx, u))
	meta.SetStatusCondition(&u.Status.Conditions, metav1.Condition{Type: evpnv1.ConditionAccepted, Status: metav1.ConditionFalse,
		Reason: "OverlappingCIDR", ObservedGeneration: u.Generation}) // status.accepted keeps the last accepted version
	must(t, c.Status().Update(ctx, u))
	kw, rl = l.k.Writes(), reloader.calls.Load()
	if _, err := r.Reconcile(ctx, nodeKey); err != nil {
		t.Fatal(err)
	}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "node1"}, &st))
	if l.k.Writes() != kw || reloader.calls.Load() != rl || st.Status.Underlay.ObservedGeneration != accepted || st.Status.VTEPIP != "100.65.0.1" {
		t.Errorf("a rejected update changed the node: %d writes, %d reloads, status %+v", l.k.Writes()-kw, reloader.calls.Load()-rl, st.Status)
	}

	// FRR is down when the Underlay changes: the failure is reported, the NIC stays.
	router.Stop()
	time.Sleep(300 * time.Millisecond)
	must(t, c.Get(ctx, client.ObjectKeyFromObject(u), u))
	u.Spec.VTEPCIDR = "100.65.0.0/24"
	u.Spec.Neighbors[0].ASN = 64613
	must(t, c.Update(ctx, u))
	accept(u)
	must(t, c.Status().Update(ctx, u))
	if _, err := r.Reconcile(ctx, nodeKey); err != nil {
		t.Fatal(err)
	}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "node1"}, &st))
	if st.Status.LastReload == nil || st.Status.LastReload.Result != evpnv1.ReloadFailure || st.Status.LastReload.Message == "" {
		t.Errorf("a failed reload is not reported: %+v", st.Status.LastReload)
	}
	if _, err := l.handle(t, l.router).LinkByName("eth1"); err != nil {
		t.Errorf("the NIC left the router netns after a failed reload: %v", err)
	}
}

// accept sets what the controller writes when it accepts an Underlay's current
// generation: the condition and the published version.
func accept(u *evpnv1.Underlay) {
	meta.SetStatusCondition(&u.Status.Conditions, metav1.Condition{Type: evpnv1.ConditionAccepted, Status: metav1.ConditionTrue,
		Reason: "Accepted", ObservedGeneration: u.Generation})
	u.Status.Accepted = &evpnv1.AcceptedUnderlay{Generation: u.Generation, Spec: *u.Spec.DeepCopy()}
}

// directApplier calls a Reloader in-process, as the socket client would remotely.
type directApplier struct{ r *frrreload.Reloader }

func (d directApplier) Health(ctx context.Context) error                   { return d.r.Healthy(ctx) }
func (d directApplier) State(ctx context.Context) (frrstate.Router, error) { return d.r.State(ctx) }

func (d directApplier) Apply(ctx context.Context, config string) (frrreload.Response, error) {
	res, err := d.r.Apply(ctx, []byte(config))
	if err != nil {
		return frrreload.Response{Result: frrreload.ResultFailure, Message: err.Error()}, err
	}
	if !res.Changed {
		return frrreload.Response{Result: frrreload.ResultUnchanged}, nil
	}
	return frrreload.Response{Result: frrreload.ResultSuccess}, nil
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
