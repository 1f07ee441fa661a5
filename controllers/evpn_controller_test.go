package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

const timeout = 20 * time.Second

func getFRRConfiguration(ns, name string) (*frrv1beta1.FRRConfiguration, error) {
	cfg := &frrv1beta1.FRRConfiguration{}
	err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, cfg)
	return cfg, err
}

func TestHappyPathWritesTheSeedFRRConfiguration(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startController(t, ns, frrNS)
	nodes := createNodes(t, "happy", 2)
	create(t, underlay(ns, "fabric", "happy"), l3vni(ns, "red", "happy", seedVNI, seedLocalCIDR))

	var got *frrv1beta1.FRRConfiguration
	eventually(t, timeout, func() (err error) {
		got, err = getFRRConfiguration(frrNS, "evpn-"+ns+"-red")
		return err
	})
	want := frrv1beta1.FRRConfigurationSpec{
		NodeSelector: metav1.LabelSelector{MatchLabels: map[string]string{"group": "happy"}},
		BGP: frrv1beta1.BGPConfig{Routers: []frrv1beta1.Router{{
			ASN: seedHostASN,
			Neighbors: []frrv1beta1.Neighbor{{
				ASN:             seedRouterASN,
				Address:         "192.169.10.1",
				AddressFamilies: []frrv1beta1.AddressFamily{"unicast"},
				ToReceive:       frrv1beta1.Receive{Allowed: frrv1beta1.AllowedInPrefixes{Mode: "all"}},
				ToAdvertise:     frrv1beta1.Advertise{Allowed: frrv1beta1.AllowedOutPrefixes{Mode: "filtered"}},
				// FRR-K8s keeps the router's routes while the router restarts.
				EnableGracefulRestart: true,
			}},
		}}},
	}
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("FRRConfiguration spec (-want +got):\n%s", diff)
	}
	if got.Labels[evpnv1.ManagedByLabel] != "frr-k8s-evpn" || got.Labels[evpnv1.L3VNINameLabel] != "red" {
		t.Errorf("labels = %v", got.Labels)
	}

	eventually(t, timeout, func() error {
		l := getL3VNI(t, ns, "red")
		if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
			return err
		}
		if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionTrue, ReasonWritten); err != nil {
			return err
		}
		if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionReady, metav1.ConditionFalse, ReasonApplying); err != nil {
			return err
		}
		if l.Status.Ready != "0/2" || l.Status.VRF != "red" || !strings.Contains(l.Status.FRRConfiguration, "evpn-"+ns+"-red") {
			return fmt.Errorf("status = %+v", l.Status)
		}
		if len(l.Finalizers) != 1 || l.Finalizers[0] != evpnv1.Finalizer {
			return fmt.Errorf("finalizers = %v", l.Finalizers)
		}
		return nil
	})

	// The plumbers report: Ready follows, node by node.
	l := getL3VNI(t, ns, "red")
	for i, node := range nodes {
		rs := &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: ns}}
		create(t, rs)
		rs.Status = evpnv1.RouterNodeStatusStatus{
			NodeName: node,
			Underlay: &evpnv1.UnderlayNodeState{Name: "fabric", ObservedGeneration: 1, Ready: true},
			L3VNIs:   []evpnv1.L3VNINodeState{{Name: "red", ObservedGeneration: l.Generation, Ready: true}},
		}
		if err := k8s.Status().Update(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%d/2", i+1)
		eventually(t, timeout, func() error {
			if got := getL3VNI(t, ns, "red").Status.Ready; got != want {
				return fmt.Errorf("ready = %s, want %s", got, want)
			}
			return nil
		})
	}
	l = getL3VNI(t, ns, "red")
	if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionReady, metav1.ConditionTrue, ReasonApplied); err != nil {
		t.Error(err)
	}
	eventually(t, timeout, func() error {
		u := &evpnv1.Underlay{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "fabric"}, u); err != nil {
			return err
		}
		if u.Status.Ready != "2/2" {
			return fmt.Errorf("underlay ready = %q", u.Status.Ready)
		}
		return conditionIs(u.Status.Conditions, u.Generation, evpnv1.ConditionReady, metav1.ConditionTrue, ReasonApplied)
	})
}

func TestUpdateAndDelete(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startController(t, ns, frrNS)
	createNodes(t, "upd", 1)
	create(t, underlay(ns, "fabric", "upd"), l3vni(ns, "red", "upd", seedVNI, seedLocalCIDR))
	name := "evpn-" + ns + "-red"
	eventually(t, timeout, func() error { _, err := getFRRConfiguration(frrNS, name); return err })

	advertiseAll := func(l *evpnv1.L3VNI) {
		l.Spec.FRRK8s.Prefixes = []evpnv1.CIDR{"10.244.0.0/24"}
		l.Spec.FRRK8s.ToAdvertise = &evpnv1.PrefixFilter{Mode: evpnv1.PrefixModeAll}
	}
	err := updateL3VNI(t, ns, "red", func(l *evpnv1.L3VNI) {
		advertiseAll(l)
		l.Spec.HostSession.LocalCIDR.IPv6 = "fd00:10::/64" // rejected: localCIDR is immutable
	})
	if err == nil || !strings.Contains(err.Error(), "localCIDR is immutable") {
		t.Fatalf("changing localCIDR: err = %v, want the immutability message", err)
	}
	if err := updateL3VNI(t, ns, "red", advertiseAll); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		cfg, err := getFRRConfiguration(frrNS, name)
		if err != nil {
			return err
		}
		r := cfg.Spec.BGP.Routers[0]
		if len(r.Prefixes) != 1 || r.Prefixes[0] != "10.244.0.0/24" || r.Neighbors[0].ToAdvertise.Allowed.Mode != "all" {
			return fmt.Errorf("router not updated: %+v", r)
		}
		if cfg.Annotations[GenerationAnnotation] != "2" {
			return fmt.Errorf("generation annotation = %q", cfg.Annotations[GenerationAnnotation])
		}
		return nil
	})

	if err := k8s.Delete(context.Background(), getL3VNI(t, ns, "red")); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		if _, err := getFRRConfiguration(frrNS, name); !apierrors.IsNotFound(err) {
			return fmt.Errorf("FRRConfiguration still there (err %v)", err)
		}
		err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "red"}, &evpnv1.L3VNI{})
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("L3VNI still there (err %v)", err)
		}
		return nil
	})
}

// TestConflicts creates an accepted object, then one that conflicts with it: the
// newcomer is rejected with a clear message, and the accepted one and its
// FRRConfiguration are left exactly as they were.
func TestConflicts(t *testing.T) {
	requireAPI(t)
	tests := []struct {
		name       string
		newcomer   func(ns, group string) client.Object
		nodeIndex  int // index pre-set on node a, +1 on node b (0: the allocator's choice)
		wantReason string
		wantMsg    string
	}{
		{"duplicate VNI", func(ns, g string) client.Object { return l3vni(ns, "blue", g, seedVNI, "192.169.20.0/24") }, 0,
			placement.ReasonDuplicateVNI, "VNI 100 is already used by L3VNI red"},
		{"duplicate VRF", func(ns, g string) client.Object {
			l := l3vni(ns, "blue", g, 200, "192.169.20.0/24")
			l.Spec.VRF = "red"
			return l
		}, 0, placement.ReasonDuplicateVRF, `VRF "red" is already used by L3VNI red`},
		{"overlapping localCIDR", func(ns, g string) client.Object { return l3vni(ns, "blue", g, 200, "192.169.0.0/16") }, 0,
			placement.ReasonOverlappingLocalCIDR, "localCIDR 192.169.0.0/16 overlaps 192.169.10.0/24 of L3VNI red"},
		{"different hostASN", func(ns, g string) client.Object {
			l := l3vni(ns, "blue", g, 200, "192.169.20.0/24")
			l.Spec.HostSession.HostASN = 65000
			return l
		}, 0, placement.ReasonHostASNMismatch, "hostASN 65000 differs from 64515 of L3VNI red"},
		{"VRF named like the Underlay's NIC", func(ns, g string) client.Object {
			l := l3vni(ns, "blue", g, 200, "192.169.20.0/24")
			l.Spec.VRF = "eth1"
			return l
		}, 0, placement.ReasonNameTaken, `VRF "eth1" has the name of a NIC of Underlay fabric`},
		{"password Secret that does not exist", func(ns, g string) client.Object {
			u := underlay(ns, "second", g+"-other")
			u.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"other": g}}
			u.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: "missing"}
			return u
		}, 0, placement.ReasonSecretMissing, `password Secret "missing" does not exist`},
		{"partly overlapping vtepCIDR", func(ns, g string) client.Object {
			u := underlay(ns, "second", g+"-other")
			u.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"other": g}}
			u.Spec.VTEPCIDR = "100.65.0.128/25"
			return u
		}, 0, placement.ReasonOverlappingCIDR, "vtepCIDR 100.65.0.128/25 overlaps 100.65.0.0/24 of Underlay fabric"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, frrNS := newNamespaces(t)
			startController(t, ns, frrNS)
			group := fmt.Sprintf("conflict%d", i)
			// Node a is the accepted objects'; node b is selected only by label other=<group>.
			createNode(t, group+"-a", map[string]string{"group": group}, tt.nodeIndex)
			createNode(t, group+"-b", map[string]string{"other": group}, tt.nodeIndex+1)
			create(t, underlay(ns, "fabric", group), l3vni(ns, "red", group, seedVNI, seedLocalCIDR))
			name := "evpn-" + ns + "-red"
			var before *frrv1beta1.FRRConfiguration
			eventually(t, timeout, func() (err error) { before, err = getFRRConfiguration(frrNS, name); return err })

			obj := tt.newcomer(ns, group)
			create(t, obj)
			eventually(t, timeout, func() error {
				if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
					return err
				}
				conds, gen := conditionsOf(obj)
				c := findCondition(conds, evpnv1.ConditionAccepted)
				if c == nil || c.Status != metav1.ConditionFalse || c.Reason != tt.wantReason || !strings.Contains(c.Message, tt.wantMsg) || c.ObservedGeneration != gen {
					return fmt.Errorf("newcomer Accepted = %+v, want False/%s with %q", c, tt.wantReason, tt.wantMsg)
				}
				return nil
			})
			if _, ok := obj.(*evpnv1.L3VNI); ok {
				if _, err := getFRRConfiguration(frrNS, "evpn-"+ns+"-"+obj.GetName()); !apierrors.IsNotFound(err) {
					t.Errorf("a rejected L3VNI has an FRRConfiguration (err %v)", err)
				}
			}
			// The accepted L3VNI keeps working: same FRRConfiguration, still accepted.
			after, err := getFRRConfiguration(frrNS, name)
			if err != nil || after.ResourceVersion != before.ResourceVersion {
				t.Errorf("accepted L3VNI's FRRConfiguration changed: rv %s -> %v (err %v)", before.ResourceVersion, after.ResourceVersion, err)
			}
			red := getL3VNI(t, ns, "red")
			if err := conditionIs(red.Status.Conditions, red.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
				t.Error("accepted L3VNI:", err)
			}
			// The rejection is an Event too.
			eventually(t, timeout, func() error { return hasEvent(ns, obj.GetName(), "Rejected") })
		})
	}
}

// TestRejectedUpdateKeepsLastAccepted: an accepted L3VNI updated into a conflict
// is rejected, keeps its last FRRConfiguration, and the other L3VNI is untouched.
func TestRejectedUpdateKeepsLastAccepted(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startController(t, ns, frrNS)
	createNodes(t, "keep", 1)
	create(t, underlay(ns, "fabric", "keep"), l3vni(ns, "red", "keep", 100, seedLocalCIDR))
	eventually(t, timeout, func() error { _, err := getFRRConfiguration(frrNS, "evpn-"+ns+"-red"); return err })
	create(t, l3vni(ns, "green", "keep", 200, "192.169.20.0/24"))
	eventually(t, timeout, func() error { _, err := getFRRConfiguration(frrNS, "evpn-"+ns+"-green"); return err })
	redBefore, _ := getFRRConfiguration(frrNS, "evpn-"+ns+"-red")
	greenBefore, _ := getFRRConfiguration(frrNS, "evpn-"+ns+"-green")

	// The older L3VNI changes its VNI to the younger one's: the change is rejected.
	if err := updateL3VNI(t, ns, "red", func(l *evpnv1.L3VNI) { l.Spec.VNI = 200 }); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		l := getL3VNI(t, ns, "red")
		if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionAccepted, metav1.ConditionFalse, placement.ReasonDuplicateVNI); err != nil {
			return err
		}
		return conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionFalse, ReasonKeptLastGood)
	})
	for _, before := range []*frrv1beta1.FRRConfiguration{redBefore, greenBefore} {
		after, err := getFRRConfiguration(frrNS, before.Name)
		if err != nil || after.ResourceVersion != before.ResourceVersion {
			t.Errorf("%s changed or went: rv %s -> %v (err %v)", before.Name, before.ResourceVersion, after.ResourceVersion, err)
		}
	}
	green := getL3VNI(t, ns, "green")
	if err := conditionIs(green.Status.Conditions, green.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
		t.Error(err)
	}
}

func TestNodeIndexesAddRemove(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startController(t, ns, frrNS)
	create(t, underlay(ns, "fabric", "idx"), l3vni(ns, "red", "idx", seedVNI, seedLocalCIDR))
	nodes := createNodes(t, "idx", 3)
	indexes := func() (map[string]int, error) {
		out := map[string]int{}
		for _, n := range nodes {
			node := nodeMeta()
			if err := k8s.Get(context.Background(), client.ObjectKey{Name: n}, node); err != nil {
				if apierrors.IsNotFound(err) {
					continue
				}
				return nil, err
			}
			idx, ok := addressing.ParseNodeIndex(node.Annotations)
			if !ok {
				return nil, fmt.Errorf("node %s has no index yet", n)
			}
			out[n] = idx
		}
		return out, nil
	}
	var first map[string]int
	eventually(t, timeout, func() (err error) { first, err = indexes(); return err })
	seen := map[int]bool{}
	for n, idx := range first {
		if seen[idx] {
			t.Fatalf("index %d given twice (node %s): %v", idx, n, first)
		}
		seen[idx] = true
	}
	eventually(t, timeout, func() error {
		if got := getL3VNI(t, ns, "red").Status.Ready; got != "0/3" {
			return fmt.Errorf("ready = %s, want 0/3", got)
		}
		return nil
	})

	// A node goes: its index is freed and the next new node gets it.
	gone := nodes[1]
	if err := k8s.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: gone}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		if got := getL3VNI(t, ns, "red").Status.Ready; got != "0/2" {
			return fmt.Errorf("ready = %s, want 0/2", got)
		}
		return nil
	})
	nodes = append(nodes, createNodes(t, "idx-late", 1)[0])
	var late int
	eventually(t, timeout, func() error {
		node := nodeMeta()
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: nodes[3]}, node); err != nil {
			return err
		}
		var ok bool
		if late, ok = addressing.ParseNodeIndex(node.Annotations); !ok {
			return fmt.Errorf("no index yet")
		}
		return nil
	})
	if late > first[gone] {
		t.Errorf("new node got index %d although %d (freed by %s) was free", late, first[gone], gone)
	}
	// Indexes of the nodes that stayed did not move.
	now, err := indexes()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{nodes[0], nodes[2]} {
		if now[n] != first[n] {
			t.Errorf("node %s index moved from %d to %d", n, first[n], now[n])
		}
	}
}

func TestFRRNodeStateFailureSurfaces(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startController(t, ns, frrNS)
	node := createNodes(t, "fail", 1)[0]
	create(t, underlay(ns, "fabric", "fail"), l3vni(ns, "red", "fail", seedVNI, seedLocalCIDR))
	eventually(t, timeout, func() error {
		l := getL3VNI(t, ns, "red")
		return conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionTrue, ReasonWritten)
	})
	state := failingFRRNodeState(t, node, "failed: multiple asns for the same router: 64515 != 65000")
	eventually(t, timeout, func() error {
		l := getL3VNI(t, ns, "red")
		if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionFalse, ReasonFRRK8sFailed); err != nil {
			return err
		}
		msg := findCondition(l.Status.Conditions, evpnv1.ConditionFRRConfigurationReady).Message
		if !strings.Contains(msg, node+": conversion: failed: multiple asns") {
			return fmt.Errorf("message %q lacks the node and FRR-K8s's text", msg)
		}
		return nil
	})
	eventually(t, timeout, func() error { return hasEvent(ns, "red", ReasonFRRK8sFailed) })

	// FRR-K8s recovers: so does the condition.
	state.Status.LastConversionResult = "success"
	if err := k8s.Status().Update(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	eventually(t, timeout, func() error {
		l := getL3VNI(t, ns, "red")
		return conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionTrue, ReasonWritten)
	})
}

// TestRestartMakesNoWrites converges, restarts the controller and counts every API
// write the new instance makes: with nothing changed there must be none.
func TestRestartMakesNoWrites(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	c := startController(t, ns, frrNS)
	nodes := createNodes(t, "restart", 3)
	create(t, underlay(ns, "fabric", "restart"), l3vni(ns, "red", "restart", 100, seedLocalCIDR), l3vni(ns, "green", "restart", 200, "192.169.20.0/24"))
	eventually(t, timeout, func() error { _, err := getFRRConfiguration(frrNS, "evpn-"+ns+"-red"); return err })
	// One rejected object, so that a rejection too is shown to be stable.
	create(t, l3vni(ns, "dup", "restart", 100, "192.169.30.0/24"))
	for _, n := range nodes {
		rs := &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}}
		create(t, rs)
	}
	eventually(t, timeout, func() error {
		for _, n := range []string{"red", "green"} {
			if _, err := getFRRConfiguration(frrNS, "evpn-"+ns+"-"+n); err != nil {
				return err
			}
		}
		return conditionIs(getL3VNI(t, ns, "dup").Status.Conditions, 1, evpnv1.ConditionAccepted, metav1.ConditionFalse, placement.ReasonDuplicateVNI)
	})
	// Let the first instance settle: no write for a while.
	settle(t, c.writes)
	c.stop()

	c2 := startController(t, ns, frrNS)
	before := reconcileCount(t, "evpn")
	eventually(t, timeout, func() error {
		if reconcileCount(t, "evpn") <= before {
			return fmt.Errorf("the restarted controller has not reconciled yet")
		}
		return nil
	})
	settle(t, c2.writes)
	if n := c2.writes.total.Load(); n != 0 {
		t.Errorf("restart with nothing changed made %d API writes: %v", n, c2.writes.snapshot())
	}
}

// settle waits until a controller has made no write for a second.
func settle(t testing.TB, w *writeCounter) {
	t.Helper()
	last, quietSince := w.total.Load(), time.Now()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if n := w.total.Load(); n != last {
			last, quietSince = n, time.Now()
		} else if time.Since(quietSince) > time.Second {
			return
		}
	}
	t.Fatalf("the controller kept writing for %s: %v", timeout, w.snapshot())
}

func hasEvent(ns, name, reason string) error {
	var events eventsv1.EventList
	if err := k8s.List(context.Background(), &events, client.InNamespace(ns)); err != nil {
		return err
	}
	for _, e := range events.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			return nil
		}
	}
	return fmt.Errorf("no %s event for %s among %d events", reason, name, len(events.Items))
}

func conditionsOf(obj client.Object) ([]metav1.Condition, int64) {
	switch o := obj.(type) {
	case *evpnv1.L3VNI:
		return o.Status.Conditions, o.Generation
	case *evpnv1.Underlay:
		return o.Status.Conditions, o.Generation
	}
	return nil, 0
}

func findCondition(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

// TestOrphansRemovedAtStartup: a generated FRRConfiguration whose L3VNI is gone
// (deleted while the controller was down, its finalizer removed by hand) is
// deleted when the controller starts; one of someone else is left alone.
func TestOrphansRemovedAtStartup(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	orphan := &frrv1beta1.FRRConfiguration{ObjectMeta: metav1.ObjectMeta{
		Name: "evpn-" + ns + "-gone", Namespace: frrNS,
		Labels:      map[string]string{evpnv1.ManagedByLabel: evpnv1.ManagedByValue, evpnv1.L3VNINameLabel: "gone"},
		Annotations: map[string]string{OwnerAnnotation: ns + "/gone"},
	}}
	foreign := &frrv1beta1.FRRConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "metallb-node1", Namespace: frrNS}}
	create(t, orphan, foreign)
	startController(t, ns, frrNS)
	eventually(t, timeout, func() error {
		if _, err := getFRRConfiguration(frrNS, orphan.Name); !apierrors.IsNotFound(err) {
			return fmt.Errorf("orphan still there (err %v)", err)
		}
		return nil
	})
	if _, err := getFRRConfiguration(frrNS, foreign.Name); err != nil {
		t.Errorf("a FRRConfiguration the controller does not own was touched: %v", err)
	}
}
