package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// badInput is one bad object: a valid Underlay or L3VNI with one edit, and the
// message the API server (CRD schema and CEL) must refuse it with. Objects are
// edited as JSON so that a value Go's types cannot hold (a duration "soon") can
// be sent, as kubectl would.
type badInput struct {
	name    string
	kind    string // "Underlay" or "L3VNI"
	edit    func(spec map[string]any, obj map[string]any)
	wantErr string
}

func badInputs() []badInput {
	neighbor := func(spec map[string]any) map[string]any { return spec["neighbors"].([]any)[0].(map[string]any) }
	cidr := func(spec map[string]any) map[string]any {
		return spec["hostSession"].(map[string]any)["localCIDR"].(map[string]any)
	}
	frrK8s := func(spec map[string]any) map[string]any {
		if spec["frrK8s"] == nil {
			spec["frrK8s"] = map[string]any{}
		}
		return spec["frrK8s"].(map[string]any)
	}
	return []badInput{
		// Durations the controller would have to parse later.
		{"connectTime that is not a duration", "L3VNI", func(s, _ map[string]any) { frrK8s(s)["connectTime"] = "soon" }, "type conversion error from 'string' to 'google.protobuf.Duration' evaluating rule: connectTime must be between 1s and 65535s"},
		{"connectTime below FRR-K8s's range", "L3VNI", func(s, _ map[string]any) { frrK8s(s)["connectTime"] = "500ms" }, "connectTime must be between 1s and 65535s"},
		{"connectTime above FRR-K8s's range", "L3VNI", func(s, _ map[string]any) { frrK8s(s)["connectTime"] = "20h" }, "connectTime must be between 1s and 65535s"},
		{"connectTime with a fraction of a second", "L3VNI", func(s, _ map[string]any) { frrK8s(s)["connectTime"] = "2.5s" }, "whole number of seconds"},
		{"holdTime that is not a duration", "Underlay", func(s, _ map[string]any) { neighbor(s)["holdTime"] = "long" }, "type conversion error from 'string' to 'google.protobuf.Duration' evaluating rule: holdTime must be 0 or between 3s and 65535s"},
		{"negative keepalive", "Underlay", func(s, _ map[string]any) { neighbor(s)["keepaliveTime"] = "-5s" }, "keepaliveTime must be between 0s and 65535s"},
		{"keepalive above the hold time", "Underlay", func(s, _ map[string]any) {
			neighbor(s)["holdTime"], neighbor(s)["keepaliveTime"] = "9s", "30s"
		}, "keepaliveTime must not exceed holdTime"},
		{"keepalive alone too long for a hold time", "Underlay", func(s, _ map[string]any) { neighbor(s)["keepaliveTime"] = "30000s" }, "keepaliveTime alone must be at most 21845s"},
		// Numeric parts FRR refuses.
		{"route target: 4-byte ASN part too large", "L3VNI", func(s, _ map[string]any) { s["importRouteTargets"] = []any{"4294967296:1"} }, "ASN:NN takes NN up to"},
		{"route target: NN too large after a 4-byte ASN", "L3VNI", func(s, _ map[string]any) { s["exportRouteTargets"] = []any{"4200000000:70000"} }, "ASN:NN takes NN up to"},
		{"route target: NN too large after a 2-byte ASN", "L3VNI", func(s, _ map[string]any) { s["importRouteTargets"] = []any{"64512:4294967296"} }, "ASN:NN takes NN up to"},
		{"route target: IP part over 255", "L3VNI", func(s, _ map[string]any) { s["importRouteTargets"] = []any{"10.0.0.256:1"} }, "IPv4:NN needs a valid IPv4 address"},
		{"route target: NN too large after an IP", "L3VNI", func(s, _ map[string]any) { s["importRouteTargets"] = []any{"10.0.0.1:65536"} }, "IPv4:NN needs a valid IPv4 address and NN at most 65535"},
		{"route distinguisher: NN too large after a 4-byte ASN", "L3VNI", func(s, _ map[string]any) { s["routeDistinguisher"] = "4200000000:65536" }, "ASN:NN takes NN up to"},
		// Names that collide with what every namespace or the plumber has.
		{"VRF named lo", "L3VNI", func(s, _ map[string]any) { s["vrf"] = "lo" }, "default is FRR's own VRF and lo"},
		{"VRF named default", "L3VNI", func(s, _ map[string]any) { s["vrf"] = "default" }, "default is FRR's own VRF"},
		{"VRF named like a bridge", "L3VNI", func(s, _ map[string]any) { s["vrf"] = "br200" }, "are the names of the devices the plumber makes"},
		{"VRF named like a VXLAN device", "L3VNI", func(s, _ map[string]any) { s["vrf"] = "vx7" }, "are the names of the devices the plumber makes"},
		{"VRF named like a router leg", "L3VNI", func(s, _ map[string]any) { s["vrf"] = "pe100" }, "are the names of the devices the plumber makes"},
		{"VRF named like a host leg", "L3VNI", func(s, _ map[string]any) { s["vrf"] = "hs100" }, "are the names of the devices the plumber makes"},
		{"metadata.name lo without spec.vrf", "L3VNI", func(_, o map[string]any) { o["metadata"].(map[string]any)["name"] = "lo" }, "metadata.name cannot be the VRF name"},
		{"metadata.name br5 without spec.vrf", "L3VNI", func(_, o map[string]any) { o["metadata"].(map[string]any)["name"] = "br5" }, "metadata.name cannot be the VRF name"},
		{"dotted metadata.name without spec.vrf", "L3VNI", func(_, o map[string]any) { o["metadata"].(map[string]any)["name"] = "red.blue" }, "metadata.name cannot be the VRF name"},
		{"underlay NIC lo", "Underlay", func(s, _ map[string]any) { s["nics"] = []any{"lo"} }, "lo is every namespace's loopback"},
		{"underlay NIC named like a host leg", "Underlay", func(s, _ map[string]any) { s["nics"] = []any{"hs100"} }, "are the names of the devices the plumber makes"},
		// Addresses that break a node.
		{"vtepCIDR with no room", "Underlay", func(s, _ map[string]any) { s["vtepCIDR"] = "100.65.0.1/32" }, "vtepCIDR must hold at least one node's VTEP"},
		{"vtepCIDR link-local", "Underlay", func(s, _ map[string]any) { s["vtepCIDR"] = "169.254.0.0/16" }, "vtepCIDR must be a unicast range"},
		{"vtepCIDR loopback", "Underlay", func(s, _ map[string]any) { s["vtepCIDR"] = "127.0.0.0/24" }, "vtepCIDR must be a unicast range"},
		{"routerIDCIDR with no room", "Underlay", func(s, _ map[string]any) { s["routerIDCIDR"] = "10.0.0.5/32" }, "routerIDCIDR must hold at least one node's router ID"},
		{"localCIDR link-local", "L3VNI", func(s, _ map[string]any) { cidr(s)["ipv4"] = "169.254.0.0/16" }, "localCIDR.ipv4 must be a unicast range"},
		{"localCIDR IPv6 link-local", "L3VNI", func(s, _ map[string]any) { cidr(s)["ipv6"] = "fe80::/64" }, "localCIDR.ipv6 must be a unicast range"},
		{"localCIDR as wide as /1", "L3VNI", func(s, _ map[string]any) { cidr(s)["ipv4"] = "0.0.0.0/1" }, "localCIDR.ipv4 must be /16 or narrower"},
		{"localCIDR /8", "L3VNI", func(s, _ map[string]any) { cidr(s)["ipv4"] = "10.0.0.0/8" }, "localCIDR.ipv4 must be /16 or narrower"},
		{"localCIDR IPv6 /32", "L3VNI", func(s, _ map[string]any) { cidr(s)["ipv6"] = "2001:db8::/32" }, "localCIDR.ipv6 must be /64 or narrower"},
		{"localCIDR multicast", "L3VNI", func(s, _ map[string]any) { cidr(s)["ipv4"] = "224.1.0.0/24" }, "localCIDR.ipv4 must be a unicast range"},
	}
}

// toUnstructured turns a typed object into the JSON a user would send.
func toUnstructured(t testing.TB, obj client.Object, kind string) *unstructured.Unstructured {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(b, &u.Object); err != nil {
		t.Fatal(err)
	}
	u.SetAPIVersion(evpnv1.GroupVersion.String())
	u.SetKind(kind)
	return u
}

// TestBadInputIsRefusedAndBreaksNothing sends every bad object to the real API
// server while a controller runs an accepted L3VNI: each is refused with its
// message, and the accepted L3VNI and its FRRConfiguration stay as they were.
func TestBadInputIsRefusedAndBreaksNothing(t *testing.T) {
	requireAPI(t)
	ns, frrNS := newNamespaces(t)
	startController(t, ns, frrNS)
	createNodes(t, "bad", 1)
	create(t, underlay(ns, "fabric", "bad"), l3vni(ns, "red", "bad", seedVNI, seedLocalCIDR))
	name := "evpn-" + ns + "-red"
	var before *frrv1beta1.FRRConfiguration
	eventually(t, timeout, func() (err error) { before, err = getFRRConfiguration(frrNS, name); return err })
	redBefore := getL3VNI(t, ns, "red")

	for i, tt := range badInputs() {
		t.Run(tt.name, func(t *testing.T) {
			var obj *unstructured.Unstructured
			if tt.kind == "Underlay" {
				u := underlay(ns, fmt.Sprintf("bad%d", i), "bad-other")
				obj = toUnstructured(t, u, "Underlay")
			} else {
				l := l3vni(ns, fmt.Sprintf("bad%d", i), "bad", int32(1000+i), fmt.Sprintf("10.77.%d.0/24", i))
				obj = toUnstructured(t, l, "L3VNI")
			}
			spec := obj.Object["spec"].(map[string]any)
			tt.edit(spec, obj.Object)
			err := k8s.Create(context.Background(), obj)
			if err == nil {
				_ = k8s.Delete(context.Background(), obj)
				t.Fatalf("admitted; want a refusal with %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("refused with %q, want %q", err, tt.wantErr)
			}
		})
	}
	// The same objects, unedited, are admitted: each refusal is the edit's.
	for i, kind := range []string{"Underlay", "L3VNI"} {
		var obj client.Object = underlay(ns, fmt.Sprintf("good%d", i), "bad-other")
		if kind == "L3VNI" {
			obj = l3vni(ns, fmt.Sprintf("good%d", i), "bad", 2000, "10.78.0.0/24")
		}
		if err := k8s.Create(context.Background(), toUnstructured(t, obj, kind), client.DryRunAll); err != nil {
			t.Errorf("the unedited %s is refused: %v", kind, err)
		}
	}

	after, err := getFRRConfiguration(frrNS, name)
	if err != nil || after.ResourceVersion != before.ResourceVersion {
		t.Errorf("red's FRRConfiguration changed: rv %s -> %v (err %v)", before.ResourceVersion, after.ResourceVersion, err)
	}
	red := getL3VNI(t, ns, "red")
	if red.Generation != redBefore.Generation {
		t.Errorf("red's generation moved: %d -> %d", redBefore.Generation, red.Generation)
	}
	if err := conditionIs(red.Status.Conditions, red.Generation, evpnv1.ConditionAccepted, metav1.ConditionTrue, placement.ReasonAccepted); err != nil {
		t.Error(err)
	}
}
