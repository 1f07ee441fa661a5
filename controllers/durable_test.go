package controllers

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// TestNodeProblemsNeverRejectAcceptedObjects: nodes that join with an index
// outside the vtepCIDR, without the Underlay's label, or selected by a second
// Underlay fail alone. The objects stay accepted with their published version,
// the FRRConfiguration is not touched, and the status names the failed node.
func TestNodeProblemsNeverRejectAcceptedObjects(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startController(t, ns, frrNS)
	g := "durable"
	u := underlay(ns, "fabric", g)
	u.Spec.NodeSelector.MatchLabels["underlay"] = "yes"
	u.Spec.VTEPCIDR = "100.65.0.0/28" // indexes 0..13
	createNode(t, g+"-a", map[string]string{"group": g, "underlay": "yes"}, 3)
	create(t, u, l3vni(ns, "red", g, seedVNI, seedLocalCIDR))
	name := "evpn-" + ns + "-red"
	var before *frrv1beta1.FRRConfiguration
	eventually(t, timeout, func() (err error) { before, err = getFRRConfiguration(frrNS, name); return err })

	createNode(t, g+"-far", map[string]string{"group": g, "underlay": "yes"}, 14)
	createNode(t, g+"-bare", map[string]string{"group": g}, 4)
	eventually(t, timeout, func() error {
		got := &evpnv1.Underlay{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "fabric"}, got); err != nil {
			return err
		}
		if err := conditionIs(got.Status.Conditions, got.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
			return err
		}
		c := meta.FindStatusCondition(got.Status.Conditions, evpnv1.ConditionReady)
		if got.Status.FailedNodes != 1 || got.Status.Accepted == nil || c == nil || !strings.Contains(c.Message, g+"-far: Underlay fabric: vtepCIDR 100.65.0.0/28 has no address") {
			return fmt.Errorf("Underlay status %+v", got.Status)
		}
		return nil
	})
	eventually(t, timeout, func() error {
		l := getL3VNI(t, ns, "red")
		if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
			return err
		}
		c := meta.FindStatusCondition(l.Status.Conditions, evpnv1.ConditionReady)
		if l.Status.Ready != "0/3" || l.Status.FailedNodes != 2 || c == nil || c.Reason != ReasonNodeFailed ||
			!strings.Contains(c.Message, g+"-bare: no accepted Underlay selects node "+g+"-bare") {
			return fmt.Errorf("L3VNI status %+v", l.Status)
		}
		return nil
	})

	// A second Underlay that also selects node a: accepted, failing on node a only.
	second := underlay(ns, "second", g)
	second.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"group": g, "underlay": "yes"}}
	second.Spec.VTEPCIDR = "100.66.0.0/24"
	create(t, second)
	eventually(t, timeout, func() error {
		got := &evpnv1.Underlay{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "second"}, got); err != nil {
			return err
		}
		if err := conditionIs(got.Status.Conditions, got.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
			return err
		}
		if c := meta.FindStatusCondition(got.Status.Conditions, evpnv1.ConditionReady); got.Status.FailedNodes != 2 || c == nil || !strings.Contains(c.Message, g+"-a: node "+g+"-a is also selected by Underlay fabric, which it runs") {
			return fmt.Errorf("second's status %+v", got.Status)
		}
		return nil
	})
	after, err := getFRRConfiguration(frrNS, name)
	if err != nil || after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the FRRConfiguration changed: rv %s -> %v (err %v)", before.ResourceVersion, after.ResourceVersion, err)
	}
}

// TestDepartedNodeKeepsItsIndex: a deleted node whose router status remains keeps
// its index (and so its VTEP) reserved; a new node gets another; the node coming
// back under its name gets it again; the grace period frees it.
func TestDepartedNodeKeepsItsIndex(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startControllerOn(t, testCfg, ns, frrNS, func(o *ManagerOptions) { o.NodeIndexGrace = 3 * time.Second })
	indexOf := func(name string) (int, error) {
		node := nodeMeta()
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, node); err != nil {
			return 0, err
		}
		idx, ok := addressing.ParseNodeIndex(node.Annotations)
		if !ok {
			return 0, fmt.Errorf("node %s has no index yet", name)
		}
		return idx, nil
	}
	// Indexes are cluster-wide and other tests' nodes hold some: find this one's.
	createNode(t, "depart-a", map[string]string{"group": "depart"}, 0)
	var idx int
	eventually(t, timeout, func() (err error) { idx, err = indexOf("depart-a"); return err })
	i32 := int32(idx)
	rs := &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "depart-a"}}
	create(t, rs)
	rs.Status.NodeIndex = &i32
	must(t, k8s.Status().Update(context.Background(), rs))
	must(t, k8s.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "depart-a"}}))

	createNode(t, "depart-b", nil, 0)
	var b int
	eventually(t, timeout, func() (err error) { b, err = indexOf("depart-b"); return err })
	if b == idx {
		t.Fatalf("index %d went to a new node while the departed node's router may still run", idx)
	}
	createNode(t, "depart-a", map[string]string{"group": "depart"}, 0) // it comes back
	eventually(t, timeout, func() error {
		got, err := indexOf("depart-a")
		if err == nil && got != idx {
			return fmt.Errorf("the returning node got %d, want its own %d", got, idx)
		}
		return err
	})

	// Gone for good: after the grace period its status goes and its index is free.
	must(t, k8s.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "depart-a"}}))
	eventually(t, 15*time.Second, func() error {
		err := k8s.Get(context.Background(), client.ObjectKeyFromObject(rs), &evpnv1.RouterNodeStatus{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("RouterNodeStatus still there (err %v)", err)
	})
	createNode(t, "depart-c", nil, 0)
	eventually(t, timeout, func() error {
		got, err := indexOf("depart-c")
		if err == nil && got != idx {
			return fmt.Errorf("after the grace period a new node got %d, want the freed %d", got, idx)
		}
		return err
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRunsWithoutFRRK8s: on an API server without FRR-K8s's CRDs the controller
// starts, indexes nodes, accepts objects, says FRR-K8s is missing, lets L3VNIs be
// deleted, and writes the FRRConfiguration once the CRDs are installed.
func TestRunsWithoutFRRK8s(t *testing.T) {
	requireAPI(t)
	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		Scheme:                   Scheme(),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ns, frrNS := "evpn", "frr"
	for _, n := range []string{ns, frrNS} {
		must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}))
	}
	startControllerOn(t, cfg, ns, frrNS, func(o *ManagerOptions) { o.FRRK8sRecheck = 500 * time.Millisecond })
	must(t, c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"group": "g"}}}))
	must(t, c.Create(ctx, underlay(ns, "fabric", "g")))
	must(t, c.Create(ctx, l3vni(ns, "red", "g", seedVNI, seedLocalCIDR)))
	must(t, c.Create(ctx, l3vni(ns, "gone", "g", 200, "192.169.20.0/24")))
	get := func(name string) *evpnv1.L3VNI {
		l := &evpnv1.L3VNI{}
		must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, l))
		return l
	}
	eventually(t, timeout, func() error {
		node := nodeMeta()
		if err := c.Get(ctx, client.ObjectKey{Name: "n1"}, node); err != nil {
			return err
		}
		if _, ok := addressing.ParseNodeIndex(node.Annotations); !ok {
			return fmt.Errorf("n1 has no index")
		}
		l := get("red")
		if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
			return err
		}
		return conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionFalse, ReasonFRRK8sNotInstalled)
	})
	must(t, c.Delete(ctx, get("gone")))
	eventually(t, timeout, func() error {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gone"}, &evpnv1.L3VNI{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("L3VNI gone is still there (err %v)", err)
	})

	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{frrK8sCRDDir()}, ErrorIfPathMissing: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		cfgs := &frrv1beta1.FRRConfigurationList{}
		if err := c.List(ctx, cfgs, client.InNamespace(frrNS)); err != nil {
			return err
		}
		if len(cfgs.Items) != 1 {
			return fmt.Errorf("%d FRRConfigurations", len(cfgs.Items))
		}
		l := get("red")
		return conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionTrue, ReasonWritten)
	})
}
