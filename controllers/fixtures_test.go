package controllers

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// The seed blog's lab values.
const (
	seedVNI       = 100
	seedRouterASN = 64512
	seedHostASN   = 64515
	seedLocalCIDR = "192.169.10.0/24"
)

func underlay(ns, name, group string) *evpnv1.Underlay {
	return &evpnv1.Underlay{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: evpnv1.UnderlaySpec{
			NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": group}},
			ASN:          seedRouterASN,
			NICs:         []evpnv1.InterfaceName{"eth1"},
			Neighbors:    []evpnv1.Neighbor{{Address: "192.168.11.2", ASN: 64612}},
			VTEPCIDR:     "100.65.0.0/24",
		},
	}
}

func l3vni(ns, name, group string, vni int32, cidr string) *evpnv1.L3VNI {
	return &evpnv1.L3VNI{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: evpnv1.L3VNISpec{
			VNI:          vni,
			HostSession:  evpnv1.HostSession{HostASN: seedHostASN, LocalCIDR: evpnv1.LocalCIDR{IPv4: cidr}},
			NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": group}},
		},
	}
}

// createNodes creates Nodes labelled group=<group>, removed when the test ends.
func createNodes(t testing.TB, group string, n int) []string {
	t.Helper()
	var names []string
	for i := range n {
		name := fmt.Sprintf("%s-node-%d", group, i)
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"group": group}}}
		if err := k8s.Create(context.Background(), node); err != nil {
			t.Fatalf("creating node %s: %v", name, err)
		}
		names = append(names, name)
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), node) })
	}
	return names
}

func create(t testing.TB, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := k8s.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// getL3VNI reads an L3VNI back from the API server.
func getL3VNI(t testing.TB, ns, name string) *evpnv1.L3VNI {
	t.Helper()
	l := &evpnv1.L3VNI{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, l); err != nil {
		t.Fatalf("getting L3VNI %s: %v", name, err)
	}
	return l
}

// updateL3VNI changes an L3VNI's spec the way a user does: read, change, write,
// again when the controller's status write came in between (a conflict).
func updateL3VNI(t testing.TB, ns, name string, change func(*evpnv1.L3VNI)) error {
	t.Helper()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l := getL3VNI(t, ns, name)
		change(l)
		return k8s.Update(context.Background(), l)
	})
}

// conditionIs returns nil when the object's condition has this status and reason
// at the object's current generation, else an error describing what it has.
func conditionIs(conds []metav1.Condition, gen int64, typ string, status metav1.ConditionStatus, reason string) error {
	c := meta.FindStatusCondition(conds, typ)
	if c == nil {
		return fmt.Errorf("no %s condition yet", typ)
	}
	if c.Status != status || c.Reason != reason || c.ObservedGeneration != gen {
		return fmt.Errorf("%s is %s/%s (generation %d: %q), want %s/%s at generation %d",
			typ, c.Status, c.Reason, c.ObservedGeneration, c.Message, status, reason, gen)
	}
	return nil
}

// createNode creates one Node; an index above 1 is pre-set in its annotation.
func createNode(t testing.TB, name string, labels map[string]string, index int) {
	t.Helper()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if index > 1 {
		node.Annotations = map[string]string{evpnv1.NodeIndexAnnotation: strconv.Itoa(index)}
	}
	if err := k8s.Create(context.Background(), node); err != nil {
		t.Fatalf("creating node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), node) })
}

// reconcileCount is how many reconciles the named controller ran in this process,
// read from controller-runtime's own metrics.
func reconcileCount(t testing.TB, controller string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == controller {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// failingFRRNodeState creates node's FRRNodeState, removed when the test ends,
// reporting conversion as FRR-K8s's last conversion result and a successful reload.
func failingFRRNodeState(t testing.TB, node, conversion string) *frrv1beta1.FRRNodeState {
	t.Helper()
	state := &frrv1beta1.FRRNodeState{ObjectMeta: metav1.ObjectMeta{Name: node}}
	create(t, state)
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), state) })
	state.Status.LastConversionResult = conversion
	state.Status.LastReloadResult = "success"
	if err := k8s.Status().Update(context.Background(), state); err != nil {
		t.Fatal(err)
	}
	return state
}
