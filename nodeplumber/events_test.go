package nodeplumber

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

func TestReadyEvent(t *testing.T) {
	ready := &metav1.Condition{Status: metav1.ConditionTrue, Reason: ReasonApplied, Message: "the node runs the accepted version of everything that selects it"}
	reloadFailed := &metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonReloadFailed, Message: "FRR reload failed: line 3"}
	notAnswering := &metav1.Condition{Status: metav1.ConditionFalse, Reason: ReasonNotReloaded, Message: "the router's FRR has not confirmed the configuration yet"}
	nicMissing := &metav1.Condition{Status: metav1.ConditionFalse, Reason: "NICNotFound", Message: "eth9 not found"}
	for _, tc := range []struct {
		name          string
		before, after *metav1.Condition
		want          *Event
	}{
		{"first apply", nil, ready, &Event{"Normal", ReasonApplied, ready.Message}},
		{"first status is a failure", nil, reloadFailed, &Event{"Warning", ReasonReloadFailed, reloadFailed.Message}},
		{"applied once the router answered", notAnswering, ready, &Event{"Normal", ReasonApplied, ready.Message}},
		{"the router stops answering", ready, notAnswering, &Event{"Warning", ReasonNotReloaded, notAnswering.Message}},
		{"nothing changed", ready, ready, nil},
		{"the same failure again", reloadFailed, reloadFailed, nil},
		{"reload failed", ready, reloadFailed, &Event{"Warning", ReasonReloadFailed, reloadFailed.Message}},
		{"another failure", reloadFailed, nicMissing, &Event{"Warning", "NICNotFound", nicMissing.Message}},
		{"recovered", reloadFailed, ready, &Event{"Normal", evpnv1.EventRecovered, ready.Message + " again (was ReloadFailed: FRR reload failed: line 3)"}},
		{"no condition", ready, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readyEvent(tc.before, tc.after); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
