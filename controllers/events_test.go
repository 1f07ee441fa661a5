package controllers

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

func TestTransitionEvents(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg}
	}
	accepted := cond(evpnv1.ConditionAccepted, metav1.ConditionTrue, "Accepted", "")
	rejected := cond(evpnv1.ConditionAccepted, metav1.ConditionFalse, "DuplicateVNI", "VNI 100 is already used by L3VNI red")
	ready := cond(evpnv1.ConditionReady, metav1.ConditionTrue, "Ready", "every selected node runs it")
	waiting := cond(evpnv1.ConditionReady, metav1.ConditionFalse, "Progressing", "1/2 nodes run it")
	nodeFailed := cond(evpnv1.ConditionReady, metav1.ConditionFalse, ReasonNodeFailed, "node2: FRR reload failed")
	for _, tc := range []struct {
		name          string
		before, after []metav1.Condition
		want          []objectEvent
	}{
		{"first acceptance and readiness: the normal path", nil, []metav1.Condition{accepted, ready}, nil},
		{"rejected", []metav1.Condition{accepted}, []metav1.Condition{rejected}, []objectEvent{{"Warning", "Rejected", "Validate", rejected.Message}}},
		{"accepted again", []metav1.Condition{rejected}, []metav1.Condition{accepted}, []objectEvent{{"Normal", "Accepted", "Validate", "accepted"}}},
		{"a node fails", []metav1.Condition{accepted, ready}, []metav1.Condition{accepted, nodeFailed}, []objectEvent{{"Warning", ReasonNodeFailed, "Apply", nodeFailed.Message}}},
		{"the same failure again", []metav1.Condition{accepted, nodeFailed}, []metav1.Condition{accepted, nodeFailed}, nil},
		{"recovered", []metav1.Condition{accepted, nodeFailed}, []metav1.Condition{accepted, ready},
			[]objectEvent{{"Normal", evpnv1.EventRecovered, "Apply", "Ready: every selected node runs it (was NodeFailed)"}}},
		{"waiting is no failure, and its end no recovery", []metav1.Condition{accepted, waiting}, []metav1.Condition{accepted, ready}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := transitionEvents(tc.before, tc.after); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
