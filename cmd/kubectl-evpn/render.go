package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/controllers"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/nodeplumber"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// render prints, for one node, what the controller and the plumber would do with
// a set of Underlay and L3VNI manifests: the FRRConfigurations, the router's
// frr.conf and the network devices. It runs the same decision code as they do, so
// a change can be reviewed before it is applied (GitOps) and needs no cluster.
func render(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	var files fileList
	fs.Var(&files, "f", "a manifest with Underlays and L3VNIs (repeatable; - for stdin)")
	node := fs.String("node", "node", "the node's name")
	index := fs.Int("node-index", 0, "the node's index (annotation evpn.frrk8s.dev/node-index)")
	nodeLabels := fs.String("node-labels", "", "the node's labels, k=v,k2=v2, for nodeSelectors")
	mtu := fs.Int("nic-mtu", nodeplumber.DefaultMTU, "MTU of the underlay NIC")
	namespace := fs.String("namespace", controllers.DefaultNamespace, "namespace of objects that name none")
	frrNS := fs.String("frrk8s-namespace", controllers.DefaultFRRK8sNamespace, "FRR-K8s's namespace")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("no manifest: pass -f FILE")
	}
	labels := map[string]string{}
	for _, kv := range strings.Split(*nodeLabels, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--node-labels: %q is not k=v", kv)
		}
		labels[k] = v
	}

	w := &controllers.World{FRRK8sNamespace: *frrNS, Nodes: []placement.Node{{Name: *node, Labels: labels, Index: *index, HasIndex: true}}}
	ld := &loader{namespace: *namespace, world: w}
	for _, f := range files {
		if err := ld.load(f); err != nil {
			return err
		}
	}
	plan := controllers.Evaluate(w, metav1.NewTime(time.Now()))

	fmt.Fprintf(out, "# --- FRRConfigurations the controller writes (%s) ---\n", *frrNS)
	for _, p := range plan.Underlays {
		if c := findCond(p.Status.Conditions, evpnv1.ConditionAccepted); c != nil && c.Status != metav1.ConditionTrue {
			fmt.Fprintf(out, "# Underlay %s is rejected (%s): %s\n", p.Underlay.Name, c.Reason, c.Message)
		}
	}
	for _, p := range plan.L3VNIs {
		if !p.Accepted {
			c := findCond(p.Status.Conditions, evpnv1.ConditionAccepted)
			fmt.Fprintf(out, "# L3VNI %s is rejected (%s): %s\n", p.L3VNI.Name, c.Reason, c.Message)
			continue
		}
		p.Desired.APIVersion, p.Desired.Kind = "frrk8s.metallb.io/v1beta1", "FRRConfiguration"
		y, err := yaml.Marshal(p.Desired)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "---\n%s", trimEmpty(y))
	}

	// The node's part, placed and computed by the plumber's own code.
	nodePlan := plan.Nodes[0]
	d := nodeplumber.Desired(nodePlan, nodeplumber.NodeFacts{UnderlayMTU: *mtu, Passwords: placeholderPasswords(nodePlan)})
	state := d.State
	fmt.Fprintf(out, "# --- router frr.conf on node %s (index %d) ---\n", *node, *index)
	if d.UnderlayProblem != nil {
		fmt.Fprintf(out, "# the node cannot run Underlay %s (%s): %s\n", nodePlan.Underlay.Name, d.UnderlayProblem.Reason, d.UnderlayProblem.Message)
	}
	for _, on := range nodePlan.L3VNIs {
		if p := d.L3VNIProblems[on.L3VNI.Name]; p != nil {
			fmt.Fprintf(out, "# the node cannot run L3VNI %s (%s): %s\n", on.L3VNI.Name, p.Reason, p.Message)
		}
	}
	if nodePlan.Underlay == nil {
		fmt.Fprintln(out, "# no accepted Underlay selects this node: the plumber leaves it alone")
	} else if state.Underlay.Name != "" {
		conf, err := frrtemplates.Render(state.FRR)
		if err != nil {
			return err
		}
		fmt.Fprint(out, conf)
	}
	fmt.Fprintf(out, "# --- network devices on node %s, as ip commands ---\n", *node)
	for _, c := range nodeplumber.IPCommands(state, "") {
		fmt.Fprintln(out, c)
	}
	return nil
}

// placeholderPasswords stands in for the password Secrets, which a manifest
// review does not read: the rendered configuration shows where each goes.
func placeholderPasswords(p placement.NodePlan) map[string]string {
	out := map[string]string{}
	if p.Underlay != nil {
		for _, n := range p.Underlay.Spec.Neighbors {
			if n.PasswordSecret != nil {
				out[n.PasswordSecret.Name] = "<" + n.PasswordSecret.Name + ">"
			}
		}
	}
	return out
}

// loader reads manifests into a World.
type loader struct {
	namespace string
	world     *controllers.World
	// read counts the objects read so far: each gets a creation time one second
	// after the previous one, so that conflicts are decided as if the manifests
	// were applied in the order given (the first object wins, as in a cluster).
	read int
}

// load decodes every Underlay and L3VNI of a multi-document YAML file.
func (ld *loader) load(path string) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	decoder := serializer.NewCodecFactory(controllers.Scheme()).UniversalDeserializer()
	docs := utilyaml.NewYAMLReader(bufioReader(r))
	for {
		doc, err := docs.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		switch o := obj.(type) {
		case *evpnv1.Underlay:
			ld.defaults(&o.ObjectMeta)
			ld.world.Underlays = append(ld.world.Underlays, *o)
		case *evpnv1.L3VNI:
			ld.defaults(&o.ObjectMeta)
			ld.world.L3VNIs = append(ld.world.L3VNIs, *o)
		default:
			return fmt.Errorf("%s: %T is neither an Underlay nor an L3VNI", path, obj)
		}
	}
}

// defaults gives a manifest what the API server would: a namespace, generation 1
// and a creation time.
func (ld *loader) defaults(m *metav1.ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = ld.namespace
	}
	if m.Generation == 0 {
		m.Generation = 1
	}
	if m.CreationTimestamp.IsZero() {
		m.CreationTimestamp = metav1.NewTime(time.Unix(int64(ld.read), 0))
	}
	ld.read++
}

func findCond(conds []metav1.Condition, typ string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == typ {
			return &conds[i]
		}
	}
	return nil
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

// trimEmpty drops the empty fields that marshalling a typed object leaves behind.
func trimEmpty(y []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(y, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if bytes.HasSuffix(t, []byte(": {}")) || bytes.Equal(t, []byte("creationTimestamp: null")) {
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}
