package nodeplumber

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// Event is one Event the plumber puts on its node's RouterNodeStatus.
type Event struct {
	Type, Reason, Note string
}

// readyEvent decides the Event for a change of the node's Ready condition (nil
// before: the node's first status): its first apply (also after waiting for the
// router's first answer), a new failure, a recovery.
// Nothing else makes one, so that a pass that changes nothing, or only counts,
// makes none: Events follow transitions, which is their deduplication.
func readyEvent(before, after *metav1.Condition) *Event {
	if after == nil || (before != nil && before.Status == after.Status && before.Reason == after.Reason) {
		return nil
	}
	switch {
	case after.Status == metav1.ConditionFalse:
		return &Event{Type: corev1.EventTypeWarning, Reason: after.Reason, Note: after.Message}
	case before == nil || before.Status == metav1.ConditionUnknown || before.Reason == ReasonNotReloaded:
		// A new node waits for its router's first answer: that is no failure to
		// recover from, and the same holds for a router pod that restarted.
		return &Event{Type: corev1.EventTypeNormal, Reason: after.Reason, Note: after.Message}
	case before.Status == metav1.ConditionFalse:
		return &Event{Type: corev1.EventTypeNormal, Reason: evpnv1.EventRecovered, Note: after.Message + " again (was " + before.Reason + ": " + before.Message + ")"}
	}
	return nil
}
