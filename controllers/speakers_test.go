package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

func TestBothSelectors(t *testing.T) {
	group := &metav1.LabelSelector{MatchLabels: map[string]string{"group": "g"}}
	speaker := &metav1.LabelSelector{MatchLabels: map[string]string{"speaker": "frr-k8s"}}
	notBird := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "speaker", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"bird"}}}}
	otherGroup := &metav1.LabelSelector{MatchLabels: map[string]string{"group": "h"}}
	nodes := map[string]map[string]string{
		"g-frr":  {"group": "g", "speaker": "frr-k8s"},
		"g-bird": {"group": "g", "speaker": "bird"},
		"g":      {"group": "g"},
		"h-frr":  {"group": "h", "speaker": "frr-k8s"},
	}
	for _, tt := range []struct {
		name string
		a, b *metav1.LabelSelector
		want []string // nodes selected, sorted
	}{
		{"neither: every node", nil, nil, []string{"g", "g-bird", "g-frr", "h-frr"}},
		{"the L3VNI's only", group, nil, []string{"g", "g-bird", "g-frr"}},
		{"frrK8s's only", nil, speaker, []string{"g-frr", "h-frr"}},
		{"both labels", group, speaker, []string{"g-frr"}},
		{"labels and an expression", group, notBird, []string{"g", "g-frr"}},
		{"the same key, other values: no node", group, otherGroup, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			aBefore, bBefore := tt.a.DeepCopy(), tt.b.DeepCopy()
			got := bothSelectors(tt.a, tt.b)
			sel := labels.Everything()
			if got != nil {
				var err error
				if sel, err = metav1.LabelSelectorAsSelector(got); err != nil {
					t.Fatal(err)
				}
			}
			var selected []string
			for _, n := range []string{"g", "g-bird", "g-frr", "h-frr"} {
				if sel.Matches(labels.Set(nodes[n])) {
					selected = append(selected, n)
				}
			}
			if diff := cmp.Diff(tt.want, selected); diff != "" {
				t.Errorf("selected nodes (-want +got):\n%s", diff)
			}
			if !cmp.Equal(aBefore, tt.a) || !cmp.Equal(bBefore, tt.b) {
				t.Errorf("bothSelectors changed its inputs")
			}
		})
	}
}

// TestFRRK8sNodeSelectorLeavesNodesToAnotherSpeaker: an L3VNI whose host session
// FRR-K8s speaks on some of its nodes only (BIRD or Calico on the others). The
// FRRConfiguration selects those nodes, and what FRR-K8s reports on the others is
// not this L3VNI's business.
func TestFRRK8sNodeSelectorLeavesNodesToAnotherSpeaker(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startController(t, ns, frrNS)
	nodes := createNodes(t, "speakers", 2)
	withFRRK8s, withBIRD := nodes[0], nodes[1]
	for node, speaker := range map[string]string{withFRRK8s: "frr-k8s", withBIRD: "bird"} {
		n := &corev1.Node{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: node}, n); err != nil {
			t.Fatal(err)
		}
		n.Labels["speaker"] = speaker
		if err := k8s.Update(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	l := l3vni(ns, "red", "speakers", seedVNI, seedLocalCIDR)
	l.Spec.FRRK8s.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"speaker": "frr-k8s"}}
	create(t, underlay(ns, "fabric", "speakers"), l)

	var cfg *frrv1beta1.FRRConfiguration
	eventually(t, timeout, func() (err error) {
		cfg, err = getFRRConfiguration(frrNS, "evpn-"+ns+"-red")
		return err
	})
	want := metav1.LabelSelector{MatchLabels: map[string]string{"group": "speakers", "speaker": "frr-k8s"}}
	if diff := cmp.Diff(want, cfg.Spec.NodeSelector); diff != "" {
		t.Errorf("FRRConfiguration's nodeSelector (-want +got):\n%s", diff)
	}

	// FRR-K8s fails on both nodes (on the BIRD node it may run for something
	// else): the condition names the FRR-K8s node only. The BIRD node's failure
	// comes first, so that the controller has seen it when it sees the other.
	for _, node := range []string{withBIRD, withFRRK8s} {
		failingFRRNodeState(t, node, "failed: on "+node)
	}
	eventually(t, timeout, func() error {
		l := getL3VNI(t, ns, "red")
		if err := conditionIs(l.Status.Conditions, l.Generation, evpnv1.ConditionFRRConfigurationReady, metav1.ConditionFalse, ReasonFRRK8sFailed); err != nil {
			return err
		}
		msg := findCondition(l.Status.Conditions, evpnv1.ConditionFRRConfigurationReady).Message
		if !strings.Contains(msg, withFRRK8s+": ") || strings.Contains(msg, withBIRD) {
			return fmt.Errorf("message %q: want %s's failure only, not %s's", msg, withFRRK8s, withBIRD)
		}
		return nil
	})
	// Both nodes still run the L3VNI: the router side does not depend on the speaker.
	eventually(t, timeout, func() error {
		if got := getL3VNI(t, ns, "red").Status.SelectedNodes; got != 2 {
			return fmt.Errorf("selected nodes %d, want 2", got)
		}
		return nil
	})
}
