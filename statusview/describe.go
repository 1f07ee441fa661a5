package statusview

import (
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// DescribeNode writes everything the snapshot says about one node: its index,
// its router as its plumber reports it, FRR-K8s's results there, and each L3VNI
// that selects it with the next step for each problem. It returns false when
// the node does not exist or something on it is not ready.
func DescribeNode(w io.Writer, s *Snapshot, name string) bool {
	var found bool
	for i := range s.Nodes {
		if n := &s.Nodes[i]; n.Name == name {
			found = true
			idx, ok := addressing.ParseNodeIndex(n.Annotations)
			fmt.Fprintf(w, "Node:\t%s\n", name)
			if ok {
				fmt.Fprintf(w, "Index:\t%d\n", idx)
			} else {
				fmt.Fprintf(w, "Index:\tnone yet (the controller assigns it)\n")
			}
		}
	}
	if !found {
		fmt.Fprintf(w, "Node %s not found.\n", name)
		return false
	}
	ok := true
	fmt.Fprintln(w, "Router:")
	rs := findStatus(s, name)
	if rs == nil {
		fmt.Fprintln(w, "  no RouterNodeStatus: the node's plumber has not reported")
	} else {
		st := &rs.Status
		fmt.Fprintf(w, "  Netns:\t%s\n  NICs:\t%s\n  VTEP:\t%s\n  Router ID:\t%s\n", dash(st.Netns), dash(strings.Join(st.NICs, ", ")), dash(st.VTEPIP), dash(st.RouterID))
		if u := st.Underlay; u != nil {
			fmt.Fprintf(w, "  Underlay:\t%s, generation %d, ready %s%s\n", u.Name, u.ObservedGeneration, yesNo(u.Ready), suffix(u.Message))
		}
		if r := st.LastReload; r != nil {
			fmt.Fprintf(w, "  Last reload:\t%s at %s%s\n", r.Result, r.Time.UTC().Format("2006-01-02T15:04:05Z"), suffix(r.Message))
		}
		switch {
		case st.LiveError != "":
			fmt.Fprintf(w, "  Live state:\t%s\n", st.LiveError)
		case st.FabricSessions != "":
			fmt.Fprintf(w, "  Fabric sessions:\t%s established\n", st.FabricSessions)
			for _, f := range st.Fabric {
				fmt.Fprintf(w, "    %s\n", sessionLine(f))
			}
		}
		ok = writeConditions(w, "  ", st.Conditions) && ok
	}
	fmt.Fprintln(w, "FRR-K8s:")
	switch {
	case s.FRRK8sMissing:
		fmt.Fprintln(w, "  not installed (its CRDs are not served)")
	default:
		var seen bool
		for i := range s.FRRNodeStates {
			if fs := &s.FRRNodeStates[i]; fs.Name == name {
				seen = true
				fmt.Fprintf(w, "  Last conversion:\t%s\n  Last reload:\t%s\n", dash(strings.TrimSpace(fs.Status.LastConversionResult)), dash(strings.TrimSpace(fs.Status.LastReloadResult)))
			}
		}
		if !seen {
			fmt.Fprintln(w, "  no FRRNodeState: FRR-K8s does not run on this node (or has not reported)")
		}
	}
	fmt.Fprintln(w, "L3VNIs:")
	var any bool
	for _, r := range Rows(s) {
		if r.Node == name {
			any = true
			ok = writeRow(w, r) && ok
		}
	}
	if !any {
		fmt.Fprintln(w, "  none selects this node")
	}
	return ok
}

// DescribeL3VNI writes one L3VNI's accepted version, its conditions and its rows.
// It returns false when the L3VNI does not exist or is not ready somewhere.
func DescribeL3VNI(w io.Writer, s *Snapshot, name string) bool {
	for i := range s.L3VNIs {
		l := &s.L3VNIs[i]
		if l.Name != name {
			continue
		}
		fmt.Fprintf(w, "L3VNI:\t%s/%s\nVNI:\t%d\nVRF:\t%s\nGeneration:\t%d\n", l.Namespace, l.Name, l.Spec.VNI, dash(l.Status.VRF), l.Generation)
		if a := l.Status.Accepted; a != nil {
			fmt.Fprintf(w, "Accepted:\tgeneration %d, router ASN %d\n", a.Generation, a.RouterASN)
		} else {
			fmt.Fprintln(w, "Accepted:\tnone")
		}
		fmt.Fprintf(w, "Ready:\t%s nodes, %d failed\nFRRConfiguration:\t%s\n", dash(l.Status.Ready), l.Status.FailedNodes, dash(l.Status.FRRConfiguration))
		ok := writeConditions(w, "", l.Status.Conditions)
		fmt.Fprintln(w, "Nodes:")
		var any bool
		for _, r := range Rows(s) {
			if r.L3VNI == name {
				any = true
				ok = writeRow(w, r) && ok
			}
		}
		if !any {
			fmt.Fprintln(w, "  none")
		}
		return ok
	}
	fmt.Fprintf(w, "L3VNI %s not found in namespace %s.\n", name, s.namespace())
	return false
}

func findStatus(s *Snapshot, node string) *evpnv1.RouterNodeStatus {
	for i := range s.RouterStatuses {
		if s.RouterStatuses[i].Name == node {
			return &s.RouterStatuses[i]
		}
	}
	return nil
}

// writeConditions writes conditions as kubectl describe does, and whether all
// are True.
func writeConditions(w io.Writer, indent string, conds []metav1.Condition) bool {
	ok := true
	fmt.Fprintln(w, indent+"Conditions:")
	for _, c := range conds {
		fmt.Fprintf(w, "%s  %s=%s %s%s\n", indent, c.Type, c.Status, c.Reason, suffix(c.Message))
		ok = ok && c.Status == metav1.ConditionTrue
	}
	return ok
}

// writeRow writes one node x L3VNI, with the problem and the next step.
func writeRow(w io.Writer, r Row) bool {
	who := r.L3VNI
	if r.Node != "" {
		who = r.Node + " / " + r.L3VNI
	}
	fmt.Fprintf(w, "  %s: VNI %s, VRF %s, ready %s", who, vni(r.VNI), dash(r.VRF), yesNo(r.Ready))
	if r.Node != "" {
		fmt.Fprintf(w, ", generation %s, speaker %s, host session %s", generationCell(r), dash(r.Speaker), hostCell(r))
	}
	fmt.Fprintln(w)
	if e := r.EVPN; e != nil {
		fmt.Fprintf(w, "    EVPN: VNI %s, router MAC %s, type-5 received %d, advertised %d, remote VTEPs %s\n",
			e.VNIState, dash(e.RouterMAC), e.Type5Received, e.Type5Advertised, dash(strings.Join(e.RemoteVTEPs, ", ")))
		for _, h := range e.HostSessions {
			fmt.Fprintf(w, "    router's host-leg session: %s\n", sessionLine(h))
		}
	}
	if r.Problem != "" {
		fmt.Fprintf(w, "    problem: %s\n    next:    %s\n", r.Problem, r.Next)
	}
	return r.Ready
}

// sessionLine is one of the router's sessions as FRR reports it.
func sessionLine(b evpnv1.BGPSessionStatus) string {
	l := fmt.Sprintf("%s %s, %d prefixes received", b.Peer, b.State, b.PrefixesReceived)
	if b.Since != nil {
		l += ", since " + b.Since.UTC().Format("2006-01-02T15:04:05Z")
	}
	return l
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}
