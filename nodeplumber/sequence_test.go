package nodeplumber

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/controllers"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

var (
	sequenceSteps = flag.Int("sequence.steps", 150, "steps of TestRandomSequence")
	sequenceSeed  = flag.Int64("sequence.seed", 1, "seed of TestRandomSequence (0: a random one, printed)")
)

// TestRandomSequence drives the real controller and the plumbers' decisions on a
// real API server through a seeded random sequence: nodes join and leave, labels
// change, Underlays and L3VNIs are created, updated with valid and invalid values
// and deleted, and the controller and the plumbers restart at random points.
// After every step:
//   - the published decision (status.accepted of every object) is what the
//     controller's own evaluation of the cluster says;
//   - no accepted L3VNI is torn down on a node that it, and that node's Underlay,
//     still select (whatever else fails there);
//   - no two routers, the departed nodes' included, share a VTEP.
//
// The plumbers decide and report for real (Place, Desired, Keep, their state
// file, their RouterNodeStatus); they do not touch the kernel, whose side the
// netns and VM layers test. -sequence.steps and -sequence.seed run longer or
// other sequences.
func TestRandomSequence(t *testing.T) {
	cfg := startAPI(t)
	requireRoot(t)
	seed := *sequenceSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d, %d steps (-sequence.seed, -sequence.steps)", seed, *sequenceSteps)
	s := newSequence(t, cfg, rand.New(rand.NewSource(seed)))
	for step := 1; step <= *sequenceSteps; step++ {
		what := s.randomStep()
		s.log = append(s.log, fmt.Sprintf("%d: %s", step, what))
		s.settle()
		s.plumb()
		if t.Failed() {
			t.Fatalf("after step %d (seed %d); steps so far:\n%s", step, seed, strings.Join(s.log, "\n"))
		}
	}
	t.Logf("last steps:\n%s", strings.Join(s.log[max(0, len(s.log)-10):], "\n"))
}

type sequence struct {
	t   *testing.T
	cfg *rest.Config
	c   client.Client
	rnd *rand.Rand
	ns  string
	log []string

	stopController func()
	// nodes are the simulated nodes by name; a departed node's router keeps
	// running what it ran (nothing tells the machine), so it stays here.
	nodes map[string]*simNode
	seq   int
}

type simNode struct {
	name     string
	present  bool
	plumber  *Reconciler
	state    string // its state file
	hostNS   string
	runs     State // what its router runs
	hasState bool
}

func newSequence(t *testing.T, cfg *rest.Config, rnd *rand.Rand) *sequence {
	c, err := client.New(cfg, client.Options{Scheme: controllers.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	s := &sequence{t: t, cfg: cfg, c: c, rnd: rnd, ns: "evpn-seq", nodes: map[string]*simNode{}}
	must(t, c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns}}))
	s.startController()
	t.Cleanup(func() { s.stopController() })
	return s
}

func (s *sequence) startController() {
	mgr, err := controllers.NewManager(s.cfg, controllers.ManagerOptions{Namespace: s.ns, FRRK8sNamespace: "frr-seq", MetricsAddr: "0", ProbeAddr: "0",
		SkipNameValidation: true, FRRK8sRecheck: time.Hour})
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = mgr.Start(ctx) }()
	s.stopController = func() { cancel(); <-done }
}

// Values the steps draw from: few enough that objects collide often.
var (
	seqGroups     = []string{"a", "b"}
	seqVTEPs      = []string{"100.65.0.0/24", "100.65.0.0/29", "100.65.0.128/25", "100.66.0.0/24"}
	seqVNIs       = []int32{100, 200, 300}
	seqLocalCIDRs = []string{"192.169.10.0/24", "192.169.20.0/24", "192.169.0.0/16", "192.169.30.0/29"}
)

func pick[T any](r *rand.Rand, from []T) T { return from[r.Intn(len(from))] }

func (s *sequence) selector() *metav1.LabelSelector {
	if s.rnd.Intn(4) == 0 {
		return nil
	}
	return &metav1.LabelSelector{MatchLabels: map[string]string{"group": pick(s.rnd, seqGroups)}}
}

// randomStep makes one change and says what it was.
func (s *sequence) randomStep() string {
	ctx := context.Background()
	r := s.rnd
	switch n := r.Intn(100); {
	case n < 15:
		name := fmt.Sprintf("node%d", r.Intn(7))
		labels := map[string]string{"group": pick(r, seqGroups)}
		node := s.nodes[name]
		if node != nil && node.present {
			return s.relabel(name, labels)
		}
		err := s.c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
		if err != nil {
			s.t.Fatalf("creating node %s: %v", name, err)
		}
		if node == nil {
			node = s.newNode(name)
		}
		node.present = true
		return "node " + name + " joins with " + fmt.Sprint(labels)
	case n < 25:
		name := s.presentNode()
		if name == "" {
			return "no node to relabel"
		}
		return s.relabel(name, map[string]string{"group": pick(r, seqGroups)})
	case n < 32:
		name := s.presentNode()
		if name == "" {
			return "no node to delete"
		}
		must(s.t, s.c.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}))
		s.nodes[name].present = false
		return "node " + name + " deleted (its router keeps running)"
	case n < 50:
		name := pick(r, []string{"u1", "u2"})
		u := &evpnv1.Underlay{}
		err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, u)
		if apierrors.IsNotFound(err) {
			u = seedUnderlay()
			u.ObjectMeta = metav1.ObjectMeta{Namespace: s.ns, Name: name}
			u.Spec.NodeSelector, u.Spec.VTEPCIDR = s.selector(), pick(r, seqVTEPs)
			must(s.t, s.c.Create(ctx, u))
			return fmt.Sprintf("Underlay %s created: vtep %s, selector %v", name, u.Spec.VTEPCIDR, u.Spec.NodeSelector)
		}
		must(s.t, err)
		if r.Intn(6) == 0 {
			must(s.t, s.c.Delete(ctx, u))
			return "Underlay " + name + " deleted"
		}
		vtep, sel, nics, secret := u.Spec.VTEPCIDR, u.Spec.NodeSelector, u.Spec.NICs, u.Spec.Neighbors[0].PasswordSecret
		switch r.Intn(4) {
		case 0:
			vtep = pick(r, seqVTEPs)
		case 1:
			sel = s.selector()
		case 2: // a NIC that no node has, or back to the one they have
			nics = pick(r, [][]evpnv1.InterfaceName{{"eth1"}, {"eth1", "eth9"}})
		default: // a password Secret that may or may not exist
			secret = pick(r, []*evpnv1.SecretRef{nil, {Name: "leaf"}})
		}
		s.update(u, func() {
			u.Spec.VTEPCIDR, u.Spec.NodeSelector, u.Spec.NICs, u.Spec.Neighbors[0].PasswordSecret = vtep, sel, nics, secret
		})
		return fmt.Sprintf("Underlay %s updated: vtep %s, selector %v, NICs %v, password %v", name, vtep, sel, nics, secret)
	case n < 54:
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "leaf"}, Data: map[string][]byte{"password": []byte("s3cret")}}
		if err := s.c.Create(ctx, secret); apierrors.IsAlreadyExists(err) {
			must(s.t, s.c.Delete(ctx, secret))
			return "Secret leaf deleted"
		} else {
			must(s.t, err)
		}
		return "Secret leaf created"
	case n < 80:
		name := pick(r, []string{"red", "green", "blue"})
		l := &evpnv1.L3VNI{}
		err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, l)
		if apierrors.IsNotFound(err) {
			l.ObjectMeta = metav1.ObjectMeta{Namespace: s.ns, Name: name}
			l.Spec = seedL3VNI().Spec
			l.Spec.VNI, l.Spec.HostSession.LocalCIDR.IPv4, l.Spec.NodeSelector = pick(r, seqVNIs), pick(r, seqLocalCIDRs), s.selector()
			must(s.t, s.c.Create(ctx, l))
			return fmt.Sprintf("L3VNI %s created: VNI %d, %s, selector %v", name, l.Spec.VNI, l.Spec.HostSession.LocalCIDR.IPv4, l.Spec.NodeSelector)
		}
		must(s.t, err)
		if !l.DeletionTimestamp.IsZero() {
			return "L3VNI " + name + " is being deleted"
		}
		if r.Intn(6) == 0 {
			must(s.t, s.c.Delete(ctx, l))
			return "L3VNI " + name + " deleted"
		}
		vni, sel, asn := l.Spec.VNI, l.Spec.NodeSelector, l.Spec.HostSession.HostASN
		switch r.Intn(3) {
		case 0:
			vni = pick(r, seqVNIs)
		case 1:
			sel = s.selector()
		default:
			asn = pick(r, []int64{64515, 64515, 65000}) // mostly valid
		}
		s.update(l, func() { l.Spec.VNI, l.Spec.NodeSelector, l.Spec.HostSession.HostASN = vni, sel, asn })
		return fmt.Sprintf("L3VNI %s updated: VNI %d, hostASN %d, selector %v", name, vni, asn, sel)
	case n < 88:
		s.stopController()
		s.startController()
		return "controller restarted"
	default:
		name := s.presentNode()
		if name == "" {
			return "no plumber to restart"
		}
		node := s.nodes[name]
		stateFile := node.state
		if r.Intn(4) == 0 {
			stateFile = filepath.Join(s.t.TempDir(), "lost.json")
			node.state = stateFile
		}
		node.plumber = s.plumberFor(node)
		return "plumber of " + name + " restarted" + map[bool]string{true: " (its state file lost)", false: ""}[stateFile != node.state || strings.HasSuffix(stateFile, "lost.json")]
	}
}

func (s *sequence) relabel(name string, labels map[string]string) string {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	s.update(node, func() { node.Labels = labels })
	return "node " + name + " relabelled " + fmt.Sprint(labels)
}

// update edits an object as a user would, again on a conflict with the
// controller's own writes.
func (s *sequence) update(obj client.Object, edit func()) {
	ctx := context.Background()
	for {
		must(s.t, s.c.Get(ctx, client.ObjectKeyFromObject(obj), obj))
		edit()
		err := s.c.Update(ctx, obj)
		if !apierrors.IsConflict(err) {
			must(s.t, err)
			return
		}
	}
}

func (s *sequence) presentNode() string {
	var names []string
	for name, n := range s.nodes {
		if n.present {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	return pick(s.rnd, names)
}

// newNode gives a node a host namespace with its underlay NIC, so that the
// plumber reads real facts.
func (s *sequence) newNode(name string) *simNode {
	host := frrinstance.NewNetns(s.t, "seq")
	frrinstance.Run(s.t, "ip", "-n", host, "link", "add", "eth1", "type", "veth", "peer", "name", "peer1")
	n := &simNode{name: name, hostNS: host, state: filepath.Join(s.t.TempDir(), "applied.json")}
	n.plumber = s.plumberFor(n)
	s.nodes[name] = n
	return n
}

func (s *sequence) plumberFor(n *simNode) *Reconciler {
	router := "seqr-" + n.hostNS[len(n.hostNS)-6:]
	s.t.Cleanup(func() { frrinstance.Run(s.t, "sh", "-c", "ip netns del "+router+" 2>/dev/null || true") })
	return &Reconciler{Client: s.c, NodeName: n.name, Namespace: s.ns, Netns: router,
		Kernel: &Kernel{HostNetns: n.hostNS, Log: logFor(s.t)}, StateFile: n.state}
}

// settle waits until the controller has published what its own evaluation of
// the cluster says (the first invariant, and the step's end).
func (s *sequence) settle() {
	deadline := time.Now().Add(20 * time.Second)
	for {
		diff, err := s.publishedDiff()
		if err == nil && diff == "" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Errorf("the published decision is not the controller's evaluation: %v%s", err, diff)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishedDiff compares every object's published decision with Evaluate's.
func (s *sequence) publishedDiff() (string, error) {
	ctx := context.Background()
	w := &controllers.World{FRRK8sNamespace: "frr-seq", FRRK8sMissing: true, RouterStatuses: map[string]*evpnv1.RouterNodeStatus{}}
	var us evpnv1.UnderlayList
	var ls evpnv1.L3VNIList
	var rs evpnv1.RouterNodeStatusList
	var nodes corev1.NodeList
	var secrets corev1.SecretList
	for _, l := range []client.ObjectList{&us, &ls, &rs, &nodes, &secrets} {
		if err := s.c.List(ctx, l, client.InNamespace(s.ns)); err != nil {
			return "", err
		}
	}
	w.Secrets = map[string]bool{}
	for _, sec := range secrets.Items {
		w.Secrets[sec.Name] = true
	}
	w.Underlays, w.L3VNIs = us.Items, ls.Items
	for i := range rs.Items {
		w.RouterStatuses[rs.Items[i].Name] = &rs.Items[i]
	}
	for _, n := range nodes.Items {
		idx, ok := addressing.ParseNodeIndex(n.Annotations)
		if !ok {
			return "node " + n.Name + " has no index yet", nil
		}
		w.Nodes = append(w.Nodes, placement.Node{Name: n.Name, Labels: n.Labels, Index: idx, HasIndex: ok})
	}
	plan := controllers.Evaluate(w, metav1.Now())
	var diffs []string
	for _, p := range plan.Underlays {
		if !equality.Semantic.DeepEqual(p.Status.Accepted, p.Underlay.Status.Accepted) || acceptedCond(p.Underlay.Status.Conditions, p.Underlay.Generation) != acceptedCond(p.Status.Conditions, p.Underlay.Generation) {
			diffs = append(diffs, "\n  Underlay "+p.Underlay.Name)
		}
	}
	for _, p := range plan.L3VNIs {
		if !p.L3VNI.DeletionTimestamp.IsZero() {
			continue
		}
		if !equality.Semantic.DeepEqual(p.Status.Accepted, p.L3VNI.Status.Accepted) || acceptedCond(p.L3VNI.Status.Conditions, p.L3VNI.Generation) != acceptedCond(p.Status.Conditions, p.L3VNI.Generation) {
			diffs = append(diffs, "\n  L3VNI "+p.L3VNI.Name)
		}
	}
	return strings.Join(diffs, ""), nil
}

func acceptedCond(conds []metav1.Condition, gen int64) string {
	c := meta.FindStatusCondition(conds, evpnv1.ConditionAccepted)
	if c == nil || c.ObservedGeneration != gen {
		return "unknown"
	}
	return string(c.Status) + "/" + c.Reason
}

// plumb runs every present node's plumber as far as its decision and report (the
// kernel side is taken as done), then checks what the routers run.
func (s *sequence) plumb() {
	ctx := context.Background()
	names := make([]string, 0, len(s.nodes))
	for name := range s.nodes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n := s.nodes[name]
		p, err := n.plumber.decide(ctx)
		if err != nil {
			s.t.Errorf("plumber of %s: %v", name, err)
			continue
		}
		if p == nil || p.state == nil {
			continue // nothing to decide from, or frozen: the router runs what it ran
		}
		before := n.runs
		n.plumber.saveApplied(ctx, *p.state)
		n.runs, n.hasState = *p.state, true
		out := Outcome{Running: *p.state, Reload: &evpnv1.ReloadResult{Result: evpnv1.ReloadSuccess}}
		must(s.t, n.plumber.writeStatus(ctx, p.in.status, NodeStatus(p.plan, p.decision, out, storedConditions(p.in.status), metav1.Now())))
		s.checkNothingTornDown(n, before, p)
	}
	s.checkVTEPs()
}

// checkNothingTornDown: an L3VNI the node ran is still run unless the user took
// it away: deleted, no longer selecting the node, or the node's Underlay gone.
func (s *sequence) checkNothingTornDown(n *simNode, before State, p *pass) {
	for _, was := range before.L3VNIs {
		still := false
		for _, l := range p.state.L3VNIs {
			if l.Name == was.Name && l.UID == was.UID {
				still = true
			}
		}
		if still {
			continue
		}
		selected := false
		for _, on := range p.plan.L3VNIs {
			if on.L3VNI.UID == was.UID {
				selected = true
			}
		}
		if selected && p.plan.Underlay != nil && p.plan.Underlay.Name == before.Underlay.Name {
			s.t.Errorf("node %s tore down L3VNI %s, which it and its Underlay %s still select (plan %s)", n.name, was.Name, before.Underlay.Name, p.plan.String())
		}
	}
}

// checkVTEPs: no two routers, running or departed, share a VTEP.
func (s *sequence) checkVTEPs() {
	owner := map[string]string{}
	for name, n := range s.nodes {
		if !n.hasState || !n.runs.Underlay.VTEP.IsValid() {
			continue
		}
		v := n.runs.Underlay.VTEP.String()
		if other, ok := owner[v]; ok {
			s.t.Errorf("nodes %s and %s both run VTEP %s", other, name, v)
		}
		owner[v] = name
	}
}
