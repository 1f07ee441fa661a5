package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	"k8s.io/apimachinery/pkg/api/meta"
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
		{"localCIDR that is an address, not a range", "L3VNI", func(s, _ map[string]any) { cidr(s)["ipv4"] = "10.77.1.1" }, "localCIDR.ipv4 must be an IPv4 CIDR such as 192.169.10.0/24"},
		{"localCIDR IPv6 in the IPv4 field", "L3VNI", func(s, _ map[string]any) { cidr(s)["ipv4"] = "fd00:1::/64" }, "localCIDR.ipv4 must be an IPv4 CIDR such as 192.169.10.0/24"},
		{"localCIDR without any family", "L3VNI", func(s, _ map[string]any) { delete(cidr(s), "ipv4") }, "localCIDR needs ipv4, ipv6 or both"},
		// Numbers out of their protocol's range.
		{"VNI 0", "L3VNI", func(s, _ map[string]any) { s["vni"] = 0 }, "spec.vni: Invalid value: 0: spec.vni in body should be greater than or equal to 1"},
		{"VNI over 24 bits", "L3VNI", func(s, _ map[string]any) { s["vni"] = 16777216 }, "spec.vni in body should be less than or equal to 16777215"},
		{"hostASN 0", "L3VNI", func(s, _ map[string]any) { s["hostSession"].(map[string]any)["hostASN"] = 0 }, "spec.hostSession.hostASN in body should be greater than or equal to 1"},
		{"hostASN over 32 bits", "L3VNI", func(s, _ map[string]any) { s["hostSession"].(map[string]any)["hostASN"] = int64(4294967296) }, "spec.hostSession.hostASN in body should be less than or equal to 4294967295"},
		{"MTU below IPv6's minimum", "L3VNI", func(s, _ map[string]any) { s["mtu"] = 1000 }, "spec.mtu in body should be greater than or equal to 1280"},
		{"MTU above jumbo frames", "L3VNI", func(s, _ map[string]any) { s["mtu"] = 65000 }, "spec.mtu in body should be less than or equal to 9216"},
		{"route target that is not ASN:NN", "L3VNI", func(s, _ map[string]any) { s["importRouteTargets"] = []any{"target-one"} }, "spec.importRouteTargets[0] in body should match"},
		{"route distinguisher with three parts", "L3VNI", func(s, _ map[string]any) { s["routeDistinguisher"] = "1:2:3" }, "spec.routeDistinguisher in body should match"},
		{"VRF name over 15 characters", "L3VNI", func(s, _ map[string]any) { s["vrf"] = "a-very-long-vrf-name" }, "spec.vrf: Too long"},
		{"VRF name with a space", "L3VNI", func(s, _ map[string]any) { s["vrf"] = "red vrf" }, "spec.vrf in body should match"},
		{"underlay ASN 0", "Underlay", func(s, _ map[string]any) { s["asn"] = 0 }, "spec.asn in body should be greater than or equal to 1"},
		{"underlay without NICs", "Underlay", func(s, _ map[string]any) { s["nics"] = []any{} }, "spec.nics in body should have at least 1 items"},
		{"underlay without neighbors", "Underlay", func(s, _ map[string]any) { s["neighbors"] = []any{} }, "spec.neighbors in body should have at least 1 items"},
		{"neighbor address that is not an IP", "Underlay", func(s, _ map[string]any) { neighbor(s)["address"] = "leaf1" }, "address must be an IPv4 or IPv6 address"},
		{"neighbor ASN 0", "Underlay", func(s, _ map[string]any) { neighbor(s)["asn"] = 0 }, "spec.neighbors[0].asn in body should be greater than or equal to 1"},
		{"VXLAN port 0", "Underlay", func(s, _ map[string]any) { s["vxlanPort"] = 0 }, "spec.vxlanPort in body should be greater than or equal to 1"},
		{"VXLAN port over 65535", "Underlay", func(s, _ map[string]any) { s["vxlanPort"] = 70000 }, "spec.vxlanPort in body should be less than or equal to 65535"},
		{"vtepCIDR that is not a CIDR", "Underlay", func(s, _ map[string]any) { s["vtepCIDR"] = "100.65.0.0" }, "vtepCIDR must be an IPv4 CIDR such as 100.65.0.0/24"},
	}
}

// crossInput is an object that is fine alone and wrong next to others or the
// cluster: the API server admits it, the controller refuses it in its Accepted
// condition with a reason and a message.
type crossInput struct {
	name       string
	obj        func(ns string, i int) client.Object
	wantReason string
	wantMsg    string
}

// crossInputs run next to the accepted Underlay "fabric" (vtepCIDR
// 100.65.0.0/24, NIC eth1) and L3VNI "red" (VNI 100, VRF red, localCIDR
// 192.169.10.0/24, hostASN 64515), with --cluster-networks 10.244.0.0/16 and
// the API server's service range (ServiceCIDR kubernetes, 10.0.0.0/24).
func crossInputs() []crossInput {
	l := func(edit func(*evpnv1.L3VNI)) func(string, int) client.Object {
		return func(ns string, i int) client.Object {
			x := l3vni(ns, fmt.Sprintf("cross%d", i), "bad", int32(3000+i), fmt.Sprintf("10.79.%d.0/24", i))
			edit(x)
			return x
		}
	}
	u := func(edit func(*evpnv1.Underlay)) func(string, int) client.Object {
		return func(ns string, i int) client.Object {
			x := underlay(ns, fmt.Sprintf("cross%d", i), "bad-other")
			edit(x)
			return x
		}
	}
	return []crossInput{
		{"VNI of another L3VNI", l(func(x *evpnv1.L3VNI) { x.Spec.VNI = seedVNI }), placement.ReasonDuplicateVNI, "VNI 100 is already used by L3VNI red"},
		{"VRF of another L3VNI", l(func(x *evpnv1.L3VNI) { x.Spec.VRF = "red" }), placement.ReasonDuplicateVRF, `VRF "red" is already used by L3VNI red`},
		{"metadata.name that is another L3VNI's VRF", func(ns string, i int) client.Object {
			x := l3vni(ns, "red", "bad", int32(3000+i), fmt.Sprintf("10.79.%d.0/24", i))
			x.Name, x.Spec.VRF = fmt.Sprintf("cross%d", i), "red"
			return x
		}, placement.ReasonDuplicateVRF, "already used by L3VNI red"},
		{"localCIDR equal to another's", l(func(x *evpnv1.L3VNI) { x.Spec.HostSession.LocalCIDR.IPv4 = seedLocalCIDR }), placement.ReasonOverlappingLocalCIDR, "overlaps 192.169.10.0/24 of L3VNI red"},
		{"localCIDR inside another's", l(func(x *evpnv1.L3VNI) { x.Spec.HostSession.LocalCIDR.IPv4 = "192.169.10.128/25" }), placement.ReasonOverlappingLocalCIDR, "overlaps 192.169.10.0/24 of L3VNI red"},
		{"localCIDR around another's", l(func(x *evpnv1.L3VNI) { x.Spec.HostSession.LocalCIDR.IPv4 = "192.169.0.0/16" }), placement.ReasonOverlappingLocalCIDR, "overlaps 192.169.10.0/24 of L3VNI red"},
		{"another hostASN", l(func(x *evpnv1.L3VNI) { x.Spec.HostSession.HostASN = 64999 }), placement.ReasonHostASNMismatch, "hostASN 64999 differs from 64515 of L3VNI red"},
		{"FRR-K8s namespace the controller does not write to", l(func(x *evpnv1.L3VNI) { x.Spec.FRRK8s.Namespace = "elsewhere" }), placement.ReasonWrongFRRK8sNamespace, `frrK8s.namespace "elsewhere"`},
		{"VRF named like the Underlay's NIC", l(func(x *evpnv1.L3VNI) { x.Spec.VRF = "eth1" }), placement.ReasonNameTaken, `VRF "eth1" has the name of a NIC of Underlay fabric`},
		{"localCIDR in the service range", l(func(x *evpnv1.L3VNI) { x.Spec.HostSession.LocalCIDR.IPv4 = "10.0.0.0/24" }), placement.ReasonClusterNetwork, "overlaps the cluster's network 10.0.0.0/24 (ServiceCIDR kubernetes)"},
		{"localCIDR in the pod network", l(func(x *evpnv1.L3VNI) { x.Spec.HostSession.LocalCIDR.IPv4 = "10.244.3.0/24" }), placement.ReasonClusterNetwork, "overlaps the cluster's network 10.244.0.0/16 (--cluster-networks)"},
		{"vtepCIDR partly overlapping another Underlay's", u(func(x *evpnv1.Underlay) { x.Spec.VTEPCIDR = "100.65.0.0/23" }), placement.ReasonOverlappingCIDR, "100.65.0.0/23"},
		{"routerIDCIDR partly overlapping another Underlay's", u(func(x *evpnv1.Underlay) {
			x.Spec.VTEPCIDR, x.Spec.RouterIDCIDR = "100.66.0.0/24", "10.0.0.128/25"
		}), placement.ReasonOverlappingCIDR, "10.0.0.128/25"},
		{"password Secret that does not exist", u(func(x *evpnv1.Underlay) {
			x.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: "no-such-secret"}
		}), placement.ReasonSecretMissing, `"no-such-secret"`},
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
	startControllerOn(t, testCfg, ns, frrNS, func(o *ManagerOptions) {
		o.ClusterNetworks = []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}
	})
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
	for i, tt := range crossInputs() {
		t.Run("cross/"+tt.name, func(t *testing.T) {
			obj := tt.obj(ns, i)
			if err := k8s.Create(context.Background(), obj); err != nil {
				t.Fatalf("refused by the API server (%v): this class is the controller's", err)
			}
			defer func() { _ = k8s.Delete(context.Background(), obj) }()
			eventually(t, timeout, func() error {
				if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
					return err
				}
				conds, _ := conditionsOf(obj)
				if err := conditionIs(conds, obj.GetGeneration(), evpnv1.ConditionAccepted, metav1.ConditionFalse, tt.wantReason); err != nil {
					return err
				}
				if c := meta.FindStatusCondition(conds, evpnv1.ConditionAccepted); !strings.Contains(c.Message, tt.wantMsg) {
					return fmt.Errorf("message %q, want %q", c.Message, tt.wantMsg)
				}
				return nil
			})
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
