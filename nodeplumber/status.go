package nodeplumber

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// Outcome is what happened when the node tried to run a State.
type Outcome struct {
	// Running is the state the node was made to run (Keep's result).
	Running State
	// ApplyErr is the netlink failure, if any.
	ApplyErr error
	// Reload is the last reload of the router's FRR; nil until one is known.
	Reload *evpnv1.ReloadResult
	// ReloadWaiting says that Reload failed without FRR refusing anything: the
	// router did not answer, or its FRR was not up yet (a router pod starting on
	// a slow node). That is waiting, not a failed configuration.
	ReloadWaiting bool
	// Live is the router's EVPN state at the last read; nil until one.
	Live *Live
}

func (o Outcome) reloadProblem() *placement.Problem {
	switch {
	case o.Reload == nil:
		return &placement.Problem{Reason: ReasonNotReloaded, Message: "the router's FRR has not confirmed the configuration yet"}
	case o.Reload.Result != evpnv1.ReloadSuccess && o.ReloadWaiting:
		return &placement.Problem{Reason: ReasonNotReloaded, Message: "the router's FRR has not confirmed the configuration yet: " + o.Reload.Message}
	case o.Reload.Result != evpnv1.ReloadSuccess:
		return &placement.Problem{Reason: ReasonReloadFailed, Message: "FRR reload failed: " + o.Reload.Message}
	}
	return nil
}

// NodeStatus is what the node's RouterNodeStatus says: what it runs, which
// accepted version of each object that selects it, and why anything does not
// run. prev are the conditions as stored, whose transition times it keeps.
func NodeStatus(plan placement.NodePlan, d Decision, o Outcome, prev []metav1.Condition, now metav1.Time) evpnv1.RouterNodeStatusStatus {
	s := o.Running
	st := evpnv1.RouterNodeStatusStatus{NodeName: plan.Node.Name, Netns: s.Netns, NICs: s.Underlay.NICs, LastReload: o.Reload}
	if plan.Node.HasIndex {
		idx := int32(plan.Node.Index)
		st.NodeIndex = &idx
	}
	if s.Underlay.Name != "" {
		st.VTEPIP, st.RouterID = s.Underlay.VTEP.String(), s.Underlay.RouterID.String()
	}
	var nodeWide *placement.Problem // a failure that concerns everything the node runs
	if o.ApplyErr != nil {
		nodeWide = &placement.Problem{Reason: ReasonApplyFailed, Message: o.ApplyErr.Error()}
	} else if s.Underlay.Name != "" {
		nodeWide = o.reloadProblem()
	}
	var problems placement.Problems
	if u := plan.Underlay; u != nil {
		us := &evpnv1.UnderlayNodeState{Name: u.Name}
		if s.Underlay.Name == u.Name {
			us.ObservedGeneration = s.Underlay.Generation
		}
		p := firstOf(d.UnderlayProblem, nodeWide)
		us.Ready = p == nil && us.ObservedGeneration == u.Generation
		if p != nil && p != nodeWide {
			us.Message = p.Message
			problems = append(problems, *p)
		} else if p != nil {
			us.Message = p.Message
		}
		st.Underlay = us
		for _, o := range plan.Others {
			problems = append(problems, placement.Problem{Reason: placement.ReasonUnderlayConflict,
				Message: fmt.Sprintf("Underlay %s also selects this node, which runs Underlay %s", o.Name, u.Name)})
		}
	}
	for _, on := range plan.L3VNIs {
		l := on.L3VNI
		ls := evpnv1.L3VNINodeState{Name: l.Name, VNI: l.Spec.VNI, VRF: l.EffectiveVRF()}
		for _, r := range s.L3VNIs {
			if r.Name == l.Name {
				ls.ObservedGeneration, ls.VNI, ls.VRF = r.Generation, r.VNI, r.VRF
				for _, a := range r.HostLegAddrs {
					ls.HostLeg = append(ls.HostLeg, a.String())
				}
			}
		}
		p := firstOf(d.L3VNIProblems[l.Name], nodeWide)
		ls.Ready = p == nil && ls.ObservedGeneration == l.Generation
		if p != nil {
			ls.Message = p.Message
			if p != nodeWide {
				problems = append(problems, *p)
			}
		}
		st.L3VNIs = append(st.L3VNIs, ls)
	}
	if nodeWide != nil {
		problems = append(problems, *nodeWide)
	}
	st.Conditions = append([]metav1.Condition(nil), prev...)
	cond := metav1.Condition{Type: evpnv1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonApplied,
		Message: "the node runs the accepted version of everything that selects it", LastTransitionTime: now}
	if len(problems) > 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, problems.Reason(), placement.ConditionMessage(problems.Message())
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	withLive(&st, o.Live)
	return st
}

func firstOf(ps ...*placement.Problem) *placement.Problem {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}
