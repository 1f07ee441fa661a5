package controllers

import (
	"fmt"
	"sort"
	"strings"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// Reasons of the Ready and FRRConfigurationReady conditions.
const (
	ReasonNotAccepted     = "NotAccepted"
	ReasonNoSelectedNodes = "NoSelectedNodes"
	ReasonApplying        = "Applying"
	ReasonApplied         = "Applied"
	ReasonNodeFailed      = "NodeFailed"
	ReasonWritten         = "Written"
	ReasonKeptLastGood    = "KeptLastAccepted"
	ReasonWriteFailed     = "WriteFailed"
	ReasonFRRK8sFailed    = "FRRK8sFailed"
	ReasonDeleting        = "Deleting"
)

// Plan is what the cluster should look like: every object's status and, for
// accepted L3VNIs, the FRRConfiguration to write.
type Plan struct {
	Underlays []UnderlayPlan
	L3VNIs    []L3VNIPlan
}

// UnderlayPlan is the decision for one Underlay.
type UnderlayPlan struct {
	Underlay *evpnv1.Underlay
	Status   evpnv1.UnderlayStatus
}

// L3VNIPlan is the decision for one L3VNI.
type L3VNIPlan struct {
	L3VNI    *evpnv1.L3VNI
	Accepted bool
	// Desired is the FRRConfiguration to write; nil when the L3VNI is rejected
	// (its last accepted FRRConfiguration, if any, is left as it is) or deleting.
	Desired *frrv1beta1.FRRConfiguration
	Status  evpnv1.L3VNIStatus
}

// Evaluate decides, from a snapshot of the cluster, every Underlay's and L3VNI's
// status and the FRRConfigurations to write. It does no I/O; now stamps condition
// transitions.
func Evaluate(w *World, now metav1.Time) Plan {
	nodeStates := indexRouterStatuses(w.RouterStatuses)
	var plan Plan

	underlays := validateUnderlays(w.Underlays, w.Nodes)
	for _, uv := range underlays {
		u := uv.underlay
		st := *u.Status.DeepCopy()
		setCondition(&st.Conditions, evpnv1.ConditionAccepted, uv.accepted(), uv.reason(), uv.message(), u.Generation, now)
		ready := 0
		var waiting []string
		for _, n := range uv.selected {
			if rs := w.RouterStatuses[n.Name]; rs != nil && rs.Status.Underlay != nil &&
				rs.Status.Underlay.Name == u.Name && rs.Status.Underlay.ObservedGeneration == u.Generation {
				ready++
			} else {
				waiting = append(waiting, n.Name)
			}
		}
		st.SelectedNodes, st.ReadyNodes = int32(len(uv.selected)), int32(ready)
		st.Ready = fmt.Sprintf("%d/%d", ready, len(uv.selected))
		readyCond(&st.Conditions, uv.accepted(), ready, len(uv.selected), waiting, nil, u.Generation, now)
		plan.Underlays = append(plan.Underlays, UnderlayPlan{Underlay: u, Status: st})
	}

	for _, lv := range validateL3VNIs(w.L3VNIs, w.Nodes, underlays, w.FRRK8sNamespace) {
		l := lv.l3vni
		p := L3VNIPlan{L3VNI: l, Accepted: lv.accepted()}
		st := *l.Status.DeepCopy()
		st.VRF = l.EffectiveVRF()
		key := l.Namespace + "/" + l.Name
		existing := w.FRRConfigurations[key]

		if !l.DeletionTimestamp.IsZero() {
			setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonDeleting, "removing the generated FRRConfiguration", l.Generation, now)
			p.Status = st
			plan.L3VNIs = append(plan.L3VNIs, p)
			continue
		}
		setCondition(&st.Conditions, evpnv1.ConditionAccepted, lv.accepted(), lv.reason(), lv.message(), l.Generation, now)

		if lv.accepted() {
			desired, err := BuildFRRConfiguration(l, w.FRRK8sNamespace, lv.routerASN)
			if err != nil {
				// Unreachable for an object that passed validation; reported anyway.
				p.Accepted = false
				setCondition(&st.Conditions, evpnv1.ConditionAccepted, false, ReasonInvalidSpec, err.Error(), l.Generation, now)
			} else {
				p.Desired = desired
				st.FRRConfiguration = desired.Namespace + "/" + desired.Name
			}
		}
		switch {
		case p.Desired != nil:
			if failures := frrK8sFailures(w.FRRNodeStates, lv.selected); len(failures) > 0 {
				setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonFRRK8sFailed,
					"FRR-K8s reports failures on selected nodes: "+listSome(failures), l.Generation, now)
			} else {
				setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, true, ReasonWritten, st.FRRConfiguration, l.Generation, now)
			}
		case existing != nil:
			setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonKeptLastGood,
				fmt.Sprintf("this generation is not accepted; %s/%s of generation %s is kept unchanged",
					existing.Namespace, existing.Name, existing.Annotations[GenerationAnnotation]), l.Generation, now)
		default:
			st.FRRConfiguration = ""
			setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonNotAccepted, "not accepted: no FRRConfiguration is written", l.Generation, now)
		}

		ready := 0
		var waiting, failed []string
		for _, n := range lv.selected {
			s, ok := nodeStates[n.Name][l.Name]
			switch {
			case ok && s.ObservedGeneration == l.Generation && s.Ready:
				ready++
			case ok && s.ObservedGeneration == l.Generation && s.Message != "":
				failed = append(failed, n.Name+": "+s.Message)
			default:
				waiting = append(waiting, n.Name)
			}
		}
		st.SelectedNodes, st.ReadyNodes = int32(len(lv.selected)), int32(ready)
		st.Ready = fmt.Sprintf("%d/%d", ready, len(lv.selected))
		readyCond(&st.Conditions, lv.accepted(), ready, len(lv.selected), waiting, failed, l.Generation, now)
		p.Status = st
		plan.L3VNIs = append(plan.L3VNIs, p)
	}
	return plan
}

// readyCond sets the Ready condition from the per-node counts.
func readyCond(conds *[]metav1.Condition, accepted bool, ready, selected int, waiting, failed []string, gen int64, now metav1.Time) {
	switch {
	case !accepted:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonNotAccepted, "this generation is not accepted", gen, now)
	case selected == 0:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonNoSelectedNodes, "no node matches the nodeSelector", gen, now)
	case len(failed) > 0:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonNodeFailed,
			fmt.Sprintf("%d/%d nodes applied generation %d; failed: %s", ready, selected, gen, listSome(failed)), gen, now)
	case ready < selected:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonApplying,
			fmt.Sprintf("%d/%d nodes applied generation %d; waiting for %s", ready, selected, gen, listSome(waiting)), gen, now)
	default:
		setCondition(conds, evpnv1.ConditionReady, true, ReasonApplied,
			fmt.Sprintf("%d/%d nodes applied generation %d", ready, selected, gen), gen, now)
	}
}

// setCondition sets a condition; its transition time changes only with its status.
func setCondition(conds *[]metav1.Condition, typ string, ok bool, reason, msg string, gen int64, now metav1.Time) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: truncate(msg), ObservedGeneration: gen, LastTransitionTime: now,
	})
}

// truncate keeps a condition message within the API's 32768-byte limit.
func truncate(msg string) string {
	const max = 4096
	if len(msg) <= max {
		return msg
	}
	return msg[:max-3] + "..."
}

// indexRouterStatuses maps node name -> L3VNI name -> its state on that node.
func indexRouterStatuses(in map[string]*evpnv1.RouterNodeStatus) map[string]map[string]evpnv1.L3VNINodeState {
	out := make(map[string]map[string]evpnv1.L3VNINodeState, len(in))
	for node, rs := range in {
		m := make(map[string]evpnv1.L3VNINodeState, len(rs.Status.L3VNIs))
		for _, s := range rs.Status.L3VNIs {
			m[s.Name] = s
		}
		out[node] = m
	}
	return out
}

// frrK8sFailures lists, for the selected nodes, what FRR-K8s reports as failed in
// its FRRNodeState ("node: text"), sorted by node name.
func frrK8sFailures(states map[string]*frrv1beta1.FRRNodeState, nodes []*NodeFacts) []string {
	var out []string
	for _, n := range nodes {
		s := states[n.Name]
		if s == nil {
			continue
		}
		var parts []string
		if r := s.Status.LastConversionResult; r != "" && r != "success" {
			parts = append(parts, "conversion: "+strings.TrimSpace(r))
		}
		if r := s.Status.LastReloadResult; r != "" && r != "success" {
			parts = append(parts, "reload: "+strings.TrimSpace(r))
		}
		if len(parts) > 0 {
			out = append(out, n.Name+": "+strings.Join(parts, ", "))
		}
	}
	sort.Strings(out)
	return out
}
