package controllers

import (
	"fmt"
	"sort"
	"strings"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// Reasons of the Ready and FRRConfigurationReady conditions.
const (
	ReasonNotAccepted        = "NotAccepted"
	ReasonNoSelectedNodes    = "NoSelectedNodes"
	ReasonApplying           = "Applying"
	ReasonApplied            = "Applied"
	ReasonNodeFailed         = "NodeFailed"
	ReasonWritten            = "Written"
	ReasonKeptLastGood       = "KeptLastAccepted"
	ReasonWriteFailed        = "WriteFailed"
	ReasonFRRK8sFailed       = "FRRK8sFailed"
	ReasonFRRK8sNotInstalled = "FRRK8sNotInstalled"
	ReasonDeleting           = "Deleting"
)

// Plan is what the cluster should look like: every object's status (with the
// version nodes run, published in status.accepted) and the FRRConfigurations to
// write.
type Plan struct {
	Underlays []UnderlayPlan
	L3VNIs    []L3VNIPlan
	// Nodes is what each node runs, by the rules the plumbers apply too.
	Nodes []placement.NodePlan
	// PlumberSecretRules are the rules of PlumberSecretsRole: the password
	// Secrets that node plumbers may read.
	PlumberSecretRules []rbacv1.PolicyRule
}

// UnderlayPlan is the decision for one Underlay.
type UnderlayPlan struct {
	Underlay *evpnv1.Underlay
	Status   evpnv1.UnderlayStatus
}

// L3VNIPlan is the decision for one L3VNI.
type L3VNIPlan struct {
	L3VNI *evpnv1.L3VNI
	// Accepted is true when the current generation is accepted.
	Accepted bool
	// Desired is the FRRConfiguration of the version nodes run; nil when there is
	// none, the L3VNI is being deleted or FRR-K8s is not installed.
	Desired *frrv1beta1.FRRConfiguration
	Status  evpnv1.L3VNIStatus
}

// Evaluate decides, from a snapshot of the cluster, every Underlay's and L3VNI's
// status and the FRRConfigurations to write. It does no I/O; now stamps condition
// transitions.
func Evaluate(w *World, now metav1.Time) Plan {
	verdicts := placement.Accept(w.Underlays, w.L3VNIs, placement.Cluster{FRRK8sNamespace: w.FRRK8sNamespace, Secrets: w.Secrets, Networks: w.Networks})
	underlays, l3vnis := verdicts.Published()
	plan := Plan{Nodes: make([]placement.NodePlan, len(w.Nodes)), PlumberSecretRules: plumberSecretRules(w.Underlays)}
	for i, n := range w.Nodes {
		if rs := w.RouterStatuses[n.Name]; rs != nil && rs.Status.Underlay != nil {
			n.RunningUnderlay = rs.Status.Underlay.Name
		}
		plan.Nodes[i] = placement.Place(n, underlays, l3vnis)
	}
	tally := tallyNodes(plan.Nodes, w.RouterStatuses)

	for _, uv := range verdicts.Underlays {
		u := uv.Underlay
		st := *u.Status.DeepCopy()
		st.Accepted = uv.Accepted
		setCondition(&st.Conditions, evpnv1.ConditionAccepted, uv.OK(), reasonOf(uv.Problems), uv.Problems.Message(), u.Generation, now)
		acceptedGen := int64(0)
		if uv.Accepted != nil {
			acceptedGen = uv.Accepted.Generation
		}
		c := tally.counts(objKey{"Underlay", u.Name}, acceptedGen, u.Spec.NodeSelector, w.Nodes)
		st.SelectedNodes, st.ReadyNodes, st.FailedNodes, st.Ready = c.fields()
		readyCond(&st.Conditions, uv.OK(), acceptedGen, c, u.Generation, now)
		plan.Underlays = append(plan.Underlays, UnderlayPlan{Underlay: u, Status: st})
	}

	for _, lv := range verdicts.L3VNIs {
		l := lv.L3VNI
		p := L3VNIPlan{L3VNI: l, Accepted: lv.OK()}
		st := *l.Status.DeepCopy()
		st.VRF = l.EffectiveVRF()
		if !l.DeletionTimestamp.IsZero() {
			setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonDeleting, "removing the generated FRRConfiguration", l.Generation, now)
			p.Status = st
			plan.L3VNIs = append(plan.L3VNIs, p)
			continue
		}
		st.Accepted = lv.Accepted
		setCondition(&st.Conditions, evpnv1.ConditionAccepted, lv.OK(), reasonOf(lv.Problems), lv.Problems.Message(), l.Generation, now)
		acceptedGen := int64(0)
		if lv.Accepted != nil {
			acceptedGen = lv.Accepted.Generation
		}
		c := tally.counts(objKey{"L3VNI", l.Name}, acceptedGen, l.Spec.NodeSelector, w.Nodes)
		frrConfigurationCond(&p, &st, lv, w, c, now)
		st.SelectedNodes, st.ReadyNodes, st.FailedNodes, st.Ready = c.fields()
		readyCond(&st.Conditions, lv.OK(), acceptedGen, c, l.Generation, now)
		p.Status = st
		plan.L3VNIs = append(plan.L3VNIs, p)
	}
	return plan
}

// frrConfigurationCond builds the FRRConfiguration of the version nodes run and
// sets the FRRConfigurationReady condition.
func frrConfigurationCond(p *L3VNIPlan, st *evpnv1.L3VNIStatus, lv *placement.L3VNIVerdict, w *World, c counts, now metav1.Time) {
	l := lv.L3VNI
	gen := l.Generation
	if lv.Accepted == nil {
		st.FRRConfiguration = ""
		setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonNotAccepted, "not accepted: no FRRConfiguration is written", gen, now)
		return
	}
	if w.FRRK8sMissing {
		setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonFRRK8sNotInstalled,
			"FRR-K8s's CRDs (frrk8s.metallb.io) are not installed: install FRR-K8s; the FRRConfiguration is written once they exist", gen, now)
		return
	}
	desired, err := BuildFRRConfiguration(l.Namespace, l.Name, lv.Accepted, w.FRRK8sNamespace)
	if err != nil {
		// Unreachable for a version that passed validation; reported anyway.
		setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, placement.ReasonInvalidSpec, err.Error(), gen, now)
		return
	}
	p.Desired = desired
	st.FRRConfiguration = desired.Namespace + "/" + desired.Name
	switch failures := frrK8sFailures(w.FRRNodeStates, frrK8sNodes(lv.Accepted.Spec.FRRK8s.NodeSelector, c.nodes, w.Nodes)); {
	case !lv.OK():
		setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonKeptLastGood,
			fmt.Sprintf("generation %d is not accepted; %s of generation %d is kept", gen, st.FRRConfiguration, lv.Accepted.Generation), gen, now)
	case len(failures) > 0:
		setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, false, ReasonFRRK8sFailed,
			"FRR-K8s reports failures on selected nodes: "+placement.ListSome(failures), gen, now)
	default:
		setCondition(&st.Conditions, evpnv1.ConditionFRRConfigurationReady, true, ReasonWritten, st.FRRConfiguration, gen, now)
	}
}

// counts is how the selected nodes fare with one object's accepted version.
type counts struct {
	selected, ready int
	failed, waiting []string // "node: why" and node names
	nodes           []string // every selected node
}

// objKey names an object of a kind.
type objKey struct{ kind, name string }

// tally holds counts per object.
type tally map[objKey]*counts

// counts is how the selected nodes fare with an object: against its accepted
// version when it has one (acceptedGen > 0), else only how many nodes its
// current spec selects, since no node runs it.
func (t tally) counts(key objKey, acceptedGen int64, sel *metav1.LabelSelector, nodes []placement.Node) counts {
	if acceptedGen == 0 {
		return counts{selected: countSelected(sel, nodes)}
	}
	if c := t[key]; c != nil {
		return *c
	}
	return counts{}
}

// fields are the counts as the status shows them.
func (c counts) fields() (selected, ready, failed int32, ratio string) {
	return int32(c.selected), int32(c.ready), int32(len(c.failed)), fmt.Sprintf("%d/%d", c.ready, c.selected)
}

// tallyNodes counts, per object, the nodes that
// run its accepted version, those that cannot (with the node's own words when it
// reported them) and those still applying it.
func tallyNodes(plans []placement.NodePlan, statuses map[string]*evpnv1.RouterNodeStatus) tally {
	out := tally{}
	get := func(key objKey) *counts {
		if out[key] == nil {
			out[key] = &counts{}
		}
		return out[key]
	}
	for i := range plans {
		p := &plans[i]
		node := p.Node.Name
		rs := statuses[node]
		reports := l3vniReports(rs)
		if p.Underlay != nil {
			c := get(objKey{"Underlay", p.Underlay.Name})
			c.add(node, p.UnderlayProblem, underlayReport(rs, p.Underlay.Name), p.Underlay.Generation)
			for _, o := range p.Others {
				pr := p.ConflictProblem()
				get(objKey{"Underlay", o.Name}).add(node, &pr, nil, o.Generation)
			}
		}
		for _, l := range p.L3VNIs {
			var report *nodeReport
			if r, ok := reports[l.L3VNI.Name]; ok {
				report = &r
			}
			get(objKey{"L3VNI", l.L3VNI.Name}).add(node, l.Problem, report, l.L3VNI.Generation)
		}
	}
	return out
}

// nodeReport is what a node's plumber says of one object.
type nodeReport struct {
	generation int64
	ready      bool
	message    string
}

func underlayReport(rs *evpnv1.RouterNodeStatus, name string) *nodeReport {
	if rs == nil || rs.Status.Underlay == nil || rs.Status.Underlay.Name != name {
		return nil
	}
	u := rs.Status.Underlay
	return &nodeReport{u.ObservedGeneration, u.Ready, u.Message}
}

// l3vniReports indexes what a node says of each L3VNI by name.
func l3vniReports(rs *evpnv1.RouterNodeStatus) map[string]nodeReport {
	if rs == nil {
		return nil
	}
	out := make(map[string]nodeReport, len(rs.Status.L3VNIs))
	for _, s := range rs.Status.L3VNIs {
		out[s.Name] = nodeReport{s.ObservedGeneration, s.Ready, s.Message}
	}
	return out
}

func (c *counts) add(node string, problem *placement.Problem, report *nodeReport, gen int64) {
	c.selected++
	c.nodes = append(c.nodes, node)
	switch {
	case problem != nil && problem.Reason == placement.ReasonNoNodeIndex:
		c.waiting = append(c.waiting, node)
	case problem != nil:
		c.failed = append(c.failed, node+": "+problem.Message)
	case report != nil && report.generation == gen && report.ready:
		c.ready++
	case report != nil && report.message != "":
		c.failed = append(c.failed, node+": "+report.message)
	default:
		c.waiting = append(c.waiting, node)
	}
}

// countSelected counts the nodes an object that nodes do not run selects.
func countSelected(sel *metav1.LabelSelector, nodes []placement.Node) int {
	s, n := placement.Selector(sel), 0
	for i := range nodes {
		if s.Matches(labels.Set(nodes[i].Labels)) {
			n++
		}
	}
	return n
}

func reasonOf(ps placement.Problems) string {
	if len(ps) == 0 {
		return placement.ReasonAccepted
	}
	return ps.Reason()
}

// readyCond sets the Ready condition from the per-node counts of the version
// nodes run (acceptedGen; 0 when none).
func readyCond(conds *[]metav1.Condition, accepted bool, acceptedGen int64, c counts, gen int64, now metav1.Time) {
	switch {
	case !accepted && acceptedGen == 0:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonNotAccepted, "this generation is not accepted", gen, now)
	case !accepted:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonNotAccepted,
			fmt.Sprintf("generation %d is not accepted; %d/%d nodes run generation %d", gen, c.ready, c.selected, acceptedGen), gen, now)
	case c.selected == 0:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonNoSelectedNodes, "no node matches the nodeSelector", gen, now)
	case len(c.failed) > 0:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonNodeFailed,
			fmt.Sprintf("%d/%d nodes run generation %d; failed: %s", c.ready, c.selected, gen, placement.ListSome(c.failed)), gen, now)
	case c.ready < c.selected:
		setCondition(conds, evpnv1.ConditionReady, false, ReasonApplying,
			fmt.Sprintf("%d/%d nodes run generation %d; waiting for %s", c.ready, c.selected, gen, placement.ListSome(c.waiting)), gen, now)
	default:
		setCondition(conds, evpnv1.ConditionReady, true, ReasonApplied,
			fmt.Sprintf("%d/%d nodes run generation %d", c.ready, c.selected, gen), gen, now)
	}
}

// setCondition sets a condition; its transition time changes only with its status.
func setCondition(conds *[]metav1.Condition, typ string, ok bool, reason, msg string, gen int64, now metav1.Time) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: placement.ConditionMessage(msg), ObservedGeneration: gen, LastTransitionTime: now,
	})
}

// frrK8sNodes are the selected nodes whose host session FRR-K8s speaks: those
// frrK8s.nodeSelector selects too. The others' speaker is not FRR-K8s, and what
// FRR-K8s reports there is not about this L3VNI.
func frrK8sNodes(sel *metav1.LabelSelector, selected []string, nodes []placement.Node) []string {
	if sel == nil {
		return selected
	}
	labelsOf := make(map[string]map[string]string, len(nodes))
	for _, n := range nodes {
		labelsOf[n.Name] = n.Labels
	}
	var out []string
	for _, n := range selected {
		if placement.Selects(sel, labelsOf[n]) {
			out = append(out, n)
		}
	}
	return out
}

// frrK8sFailures lists, for the selected nodes, what FRR-K8s reports as failed in
// its FRRNodeState ("node: text"), sorted by node name.
func frrK8sFailures(states map[string]*frrv1beta1.FRRNodeState, nodes []string) []string {
	var out []string
	for _, n := range nodes {
		s := states[n]
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
			out = append(out, n+": "+strings.Join(parts, ", "))
		}
	}
	sort.Strings(out)
	return out
}
