package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/controllers"
)

// TestStatusAgainstAPIServer writes objects in every state a user meets into a
// real API server (the statuses the controller, the plumbers and FRR-K8s would
// write) and compares what `kubectl evpn status` and `describe` print with
// golden files (go test -update rewrites them), and their exit codes.
func TestStatusAgainstAPIServer(t *testing.T) {
	cfg := startAPIServer(t)
	seedCluster(t, cfg)
	cf := &clusterFlags{config: cfg, namespace: "evpn-status", frrK8sNamespace: "frr-k8s-system"}

	tests := []struct {
		name string
		run  func(out *bytes.Buffer) error
		code int
	}{
		{"status", func(out *bytes.Buffer) error { return statusOf(cf, "table", out, false) }, 1},
		{"status-wide", func(out *bytes.Buffer) error { return statusOf(cf, "wide", out, false) }, 1},
		{"status-json", func(out *bytes.Buffer) error { return statusOf(cf, "json", out, false) }, 1},
		{"status-colour", func(out *bytes.Buffer) error { return statusOf(cf, "table", out, true) }, 1},
		{"describe-node-a", func(out *bytes.Buffer) error { return describeOf(cf, "node", "node-a", out) }, 0},
		{"describe-node-b", func(out *bytes.Buffer) error { return describeOf(cf, "node", "node-b", out) }, 1},
		{"describe-l3vni-red", func(out *bytes.Buffer) error { return describeOf(cf, "l3vni", "red", out) }, 1},
		{"describe-l3vni-blue", func(out *bytes.Buffer) error { return describeOf(cf, "l3vni", "blue", out) }, 1},
		{"describe-l3vni-none", func(out *bytes.Buffer) error { return describeOf(cf, "l3vni", "none", out) }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := tt.run(&out)
			code := 0
			if e, ok := err.(exitError); ok {
				code = int(e)
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			compareGolden(t, tt.name, out.Bytes())
		})
	}

	// Only ready rows left: exit 0. A namespace holding one ready L3VNI and its node.
	ok := &clusterFlags{config: cfg, namespace: "evpn-ready", frrK8sNamespace: "frr-k8s-system"}
	var out bytes.Buffer
	if err := statusOf(ok, "table", &out, false); err != nil {
		t.Fatalf("status of a ready namespace: %v\n%s", err, out.String())
	}
	compareGolden(t, "status-ready", out.Bytes())
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (go test -update rewrites it):\n%s", name, path, got)
	}
}

// startAPIServer starts envtest's kube-apiserver and etcd with our CRDs and
// FRR-K8s's; without KUBEBUILDER_ASSETS it skips, unless every layer must run.
func startAPIServer(t *testing.T) *rest.Config {
	t.Helper()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("EVPN_REQUIRE_ALL_LAYERS") != "" {
			t.Fatal("KUBEBUILDER_ASSETS is not set but EVPN_REQUIRE_ALL_LAYERS is: run `make test`")
		}
		t.Skip("no API server: KUBEBUILDER_ASSETS is not set (make test-api builds it)")
	}
	mod, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/metallb/frr-k8s").Output()
	if err != nil {
		t.Fatalf("locating the frr-k8s module: %v", err)
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:        []string{filepath.Join("..", "..", "config", "crd", "bases"), filepath.Join(strings.TrimSpace(string(mod)), "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		Scheme:                   controllers.Scheme(),
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return cfg
}

// reloadTime is when every plumber last reloaded FRR, fixed for the golden files.
var reloadTime = metav1.NewTime(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))

// seedCluster writes, in namespace evpn-status:
//   - Underlay fabric (accepted), selecting nodes labelled evpn=yes;
//   - L3VNI red (accepted, generation 1), FRR-K8s on nodes labelled speaker=frr-k8s:
//     node-a runs it and FRR-K8s's session is Established; node-b runs it, the
//     session is Active; node-c's plumber has not reported; node-d runs it with
//     another speaker (BIRD); node-e runs it and FRR-K8s failed a conversion;
//     node-f has no index yet;
//   - L3VNI blue, not accepted (its VNI is red's);
//   - L3VNI green, accepted, selecting no node.
//
// and in namespace evpn-ready one ready L3VNI on node-a.
func seedCluster(t *testing.T, cfg *rest.Config) {
	t.Helper()
	ctx := context.Background()
	c, err := client.New(cfg, client.Options{Scheme: controllers.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"evpn-status", "evpn-ready", "frr-k8s-system"} {
		must(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	speakers := map[string]string{"node-a": "frr-k8s", "node-b": "frr-k8s", "node-c": "frr-k8s", "node-d": "bird", "node-e": "frr-k8s", "node-f": "frr-k8s", "node-g": "bird"}
	for i, name := range []string{"node-a", "node-b", "node-c", "node-d", "node-e", "node-f", "node-g"} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"evpn": "yes", "speaker": speakers[name], "letter": name[len(name)-1:]}}}
		if name != "node-f" {
			n.Annotations = map[string]string{evpnv1.NodeIndexAnnotation: fmt.Sprint(i)}
		}
		must(c.Create(ctx, n))
	}

	accepted := func(gen int64) []metav1.Condition {
		return []metav1.Condition{{Type: evpnv1.ConditionAccepted, Status: metav1.ConditionTrue, Reason: "Accepted", ObservedGeneration: gen, LastTransitionTime: reloadTime}}
	}
	for _, ns := range []string{"evpn-status", "evpn-ready"} {
		u := &evpnv1.Underlay{ObjectMeta: metav1.ObjectMeta{Name: "fabric", Namespace: ns}, Spec: evpnv1.UnderlaySpec{
			ASN: 64512, NICs: []evpnv1.InterfaceName{"eth1"}, VTEPCIDR: "100.65.0.0/24",
			Neighbors:    []evpnv1.Neighbor{{Address: "192.168.11.2", ASN: 64612}},
			NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"evpn": "yes"}},
		}}
		must(c.Create(ctx, u))
		u.Status.Accepted = &evpnv1.AcceptedUnderlay{Generation: u.Generation, Spec: u.Spec}
		u.Status.Conditions = accepted(u.Generation)
		must(c.Status().Update(ctx, u))
	}

	l3vni := func(ns, name string, vni int32, cidr string, sel map[string]string) *evpnv1.L3VNI {
		return &evpnv1.L3VNI{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: evpnv1.L3VNISpec{
			VNI:          vni,
			HostSession:  evpnv1.HostSession{HostASN: 64515, LocalCIDR: evpnv1.LocalCIDR{IPv4: cidr}},
			FRRK8s:       evpnv1.FRRK8sSpec{NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"speaker": "frr-k8s"}}},
			NodeSelector: &metav1.LabelSelector{MatchLabels: sel},
		}}
	}
	publish := func(l *evpnv1.L3VNI, ok bool, msg string, ready string) {
		t.Helper()
		must(c.Create(ctx, l))
		l.Status.VRF = l.Name
		if ok {
			l.Status.Accepted = &evpnv1.AcceptedL3VNI{Generation: l.Generation, Spec: l.Spec, RouterASN: 64512}
			l.Status.Conditions = accepted(l.Generation)
			l.Status.FRRConfiguration = "frr-k8s-system/evpn-" + l.Name
		} else {
			l.Status.Conditions = []metav1.Condition{{Type: evpnv1.ConditionAccepted, Status: metav1.ConditionFalse, Reason: "DuplicateVNI", Message: msg, ObservedGeneration: l.Generation, LastTransitionTime: reloadTime}}
		}
		l.Status.Ready = ready
		must(c.Status().Update(ctx, l))
	}
	publish(l3vni("evpn-status", "red", 100, "192.169.10.0/24", map[string]string{"evpn": "yes"}), true, "", "3/6")
	publish(l3vni("evpn-status", "blue", 100, "192.169.11.0/24", map[string]string{"evpn": "yes"}), false, "VNI 100 is already used by L3VNI red", "")
	publish(l3vni("evpn-status", "green", 300, "192.169.12.0/24", map[string]string{"evpn": "nowhere"}), true, "", "0/0")
	publish(l3vni("evpn-ready", "red", 100, "192.169.10.0/24", map[string]string{"letter": "a"}), true, "", "1/1")

	// What the plumbers read from their routers' FRR.
	since := metav1.NewTime(reloadTime.Add(30 * time.Second))
	established := func(peer string, prefixes int32) evpnv1.BGPSessionStatus {
		return evpnv1.BGPSessionStatus{Peer: peer, State: "Established", Since: &since, PrefixesReceived: prefixes}
	}
	liveUp := func(st *evpnv1.RouterNodeStatusStatus) {
		vteps := int32(2)
		st.Fabric, st.FabricSessions, st.RemoteVTEPs = []evpnv1.BGPSessionStatus{established("192.168.11.2", 3)}, "1/1", &vteps
		st.L3VNIs[0].EVPN = &evpnv1.L3VNIEVPNState{VNIState: "Up", RouterMAC: "5e:3d:ff:e6:14:a7",
			RemoteVTEPs: []string{"100.64.0.1", "100.65.0.2"}, Type5Advertised: 2, Type5Received: 1,
			HostSessions: []evpnv1.BGPSessionStatus{established("192.169.10.2", 2)}}
	}
	fabricDown := func(st *evpnv1.RouterNodeStatusStatus) {
		vteps := int32(0)
		st.Fabric, st.FabricSessions, st.RemoteVTEPs = []evpnv1.BGPSessionStatus{{Peer: "192.168.11.2", State: "Active"}}, "0/1", &vteps
		st.L3VNIs[0].EVPN = &evpnv1.L3VNIEVPNState{VNIState: "Up", RouterMAC: "5e:3d:ff:e6:14:a8"}
	}
	unreadable := func(st *evpnv1.RouterNodeStatusStatus) {
		st.LiveError = "the router's FRR could not be read: show bgp vrf all summary json: FRR does not answer: bgpd is not running"
	}
	report := func(ns, node string, index int32, gen int64, ready bool, msg string, live ...func(*evpnv1.RouterNodeStatusStatus)) {
		t.Helper()
		rs := &evpnv1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: ns}}
		must(c.Create(ctx, rs))
		rs.Status = evpnv1.RouterNodeStatusStatus{
			NodeName: node, NodeIndex: &index, Netns: "evpn-router", NICs: []string{"eth1"},
			VTEPIP: fmt.Sprintf("100.65.0.%d", index+1), RouterID: fmt.Sprintf("100.65.0.%d", index+1),
			Underlay:   &evpnv1.UnderlayNodeState{Name: "fabric", ObservedGeneration: 1, Ready: true},
			L3VNIs:     []evpnv1.L3VNINodeState{{Name: "red", ObservedGeneration: gen, VNI: 100, VRF: "red", Ready: ready, Message: msg}},
			LastReload: &evpnv1.ReloadResult{Time: reloadTime, Result: evpnv1.ReloadSuccess},
			Conditions: []metav1.Condition{{Type: evpnv1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Applied", LastTransitionTime: reloadTime}},
		}
		for _, f := range live {
			f(&rs.Status)
		}
		must(c.Status().Update(ctx, rs))
	}
	report("evpn-status", "node-a", 0, 1, true, "", liveUp)
	report("evpn-status", "node-b", 1, 1, true, "")
	report("evpn-status", "node-d", 3, 1, true, "", fabricDown)
	report("evpn-status", "node-e", 4, 1, true, "")
	report("evpn-status", "node-g", 6, 1, true, "", unreadable)
	report("evpn-ready", "node-a", 0, 1, true, "", liveUp)

	session := func(node, state string) {
		t.Helper()
		s := &frrv1beta1.BGPSessionState{ObjectMeta: metav1.ObjectMeta{Name: node + "-red", Namespace: "frr-k8s-system"}}
		must(c.Create(ctx, s))
		s.Status = frrv1beta1.BGPSessionStateStatus{Node: node, Peer: "192.169.10.1", BGPStatus: state}
		must(c.Status().Update(ctx, s))
	}
	session("node-a", "Established")
	session("node-b", "Active")
	for _, n := range []struct{ name, conversion string }{{"node-a", "success"}, {"node-b", "success"}, {"node-e", "failed: different asns (64515 != 64999) specified for same vrf"}} {
		fs := &frrv1beta1.FRRNodeState{ObjectMeta: metav1.ObjectMeta{Name: n.name}}
		must(c.Create(ctx, fs))
		fs.Status = frrv1beta1.FRRNodeStateStatus{LastConversionResult: n.conversion, LastReloadResult: "success"}
		must(c.Status().Update(ctx, fs))
	}
}
