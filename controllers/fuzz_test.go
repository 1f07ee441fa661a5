package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/nodeplumber"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// FuzzAdmittedObjectsRender: whatever the API server admits (the CRD schema and
// CEL) and the controller accepts, every node it places renders a configuration
// that FRR's own parser accepts. A bad value must be refused at admission or on
// the Accepted condition, never reach a node. make test runs the seeds; make
// fuzz explores.
func FuzzAdmittedObjectsRender(f *testing.F) {
	f.Add(int32(100), "red", "64512:100", "", "2s", "9s", "3s", "192.169.10.0/24", "100.65.0.0/24", "eth1", uint8(0))
	f.Add(int32(16777215), "tenant.a", "4200000000:65535", "10.0.0.1:65535", "65535s", "0s", "0s", "10.0.0.0/30", "100.65.0.0/31", "ens3f0", uint8(1))
	f.Add(int32(7), "x", "65535:4294967295", "1:1", "1s", "65535s", "21845s", "192.168.0.0/16", "10.1.0.0/24", "bond0.100", uint8(200))
	f.Add(int32(1), "default", "0:0", "0:0", "soon", "2s", "-1s", "169.254.0.0/16", "127.0.0.0/8", "lo", uint8(9))
	f.Fuzz(func(t *testing.T, vni int32, vrf, rt, rd, connect, hold, keepalive, localCIDR, vtepCIDR, nic string, index uint8) {
		admittedRenders(t, vni, vrf, rt, rd, connect, hold, keepalive, localCIDR, vtepCIDR, nic, index)
	})
}

// TestAdmittedObjectsRender: the fuzz target's check reaches FRR's parser for a
// valid input (it would prove nothing if every input stopped at admission).
func TestAdmittedObjectsRender(t *testing.T) {
	requireAPI(t)
	if !admittedRenders(t, 100, "red", "64512:100", "", "2s", "9s", "3s", "192.169.10.0/24", "100.65.0.0/24", "eth1", 0) {
		t.Fatal("a valid input did not reach FRR's parser")
	}
}

// admittedRenders checks one input; it reports whether the input got as far as
// FRR's parser.
func admittedRenders(t *testing.T, vni int32, vrf, rt, rd, connect, hold, keepalive, localCIDR, vtepCIDR, nic string, index uint8) bool {
	t.Helper()
	{
		requireAPI(t)
		frrinstance.Require(t)
		ctx := context.Background()
		ns := "fuzz"
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		u := underlay(ns, "fabric", "g")
		u.Spec.VTEPCIDR, u.Spec.NICs = vtepCIDR, []evpnv1.InterfaceName{evpnv1.InterfaceName(nic)}
		l := l3vni(ns, "l3vni", "g", vni, localCIDR)
		l.Spec.VRF, l.Spec.RouteDistinguisher = vrf, rd
		if rt != "" {
			l.Spec.ImportRouteTargets = []evpnv1.RouteTarget{evpnv1.RouteTarget(rt)}
		}
		admitted := func(obj client.Object, kind string) bool {
			raw := toUnstructured(t, obj, kind)
			if kind == "L3VNI" && connect != "" {
				spec := raw.Object["spec"].(map[string]any)
				if spec["frrK8s"] == nil {
					spec["frrK8s"] = map[string]any{}
				}
				spec["frrK8s"].(map[string]any)["connectTime"] = connect
			}
			if kind == "Underlay" {
				neighbor := raw.Object["spec"].(map[string]any)["neighbors"].([]any)[0].(map[string]any)
				for k, v := range map[string]string{"holdTime": hold, "keepaliveTime": keepalive} {
					if v != "" {
						neighbor[k] = v
					} else {
						delete(neighbor, k)
					}
				}
			}
			return k8s.Create(ctx, raw, client.DryRunAll) == nil
		}
		if !admitted(u, "Underlay") || !admitted(l, "L3VNI") {
			return false // refused where the user looks: fine
		}
		// Admitted: from here on nothing may fail but with a reason on a condition.
		u.Generation, l.Generation = 1, 1
		v := placement.Accept([]evpnv1.Underlay{*u}, []evpnv1.L3VNI{*l}, placement.Cluster{FRRK8sNamespace: "frr-k8s-system"})
		us, ls := v.Published()
		plan := placement.Place(placement.Node{Name: "n", Labels: map[string]string{"group": "g"}, Index: int(index), HasIndex: true}, us, ls)
		d := nodeplumber.Desired(plan, nodeplumber.NodeFacts{UnderlayMTU: 9000})
		if d.UnderlayProblem != nil || len(d.State.L3VNIs) == 0 {
			return false // a node-level problem, reported on the node
		}
		conf, err := frrtemplates.Render(d.State.FRR)
		if err != nil {
			t.Fatalf("admitted and accepted, but the router's configuration does not render: %v", err)
		}
		if out, err := frrinstance.Parse(t, conf); err != nil {
			t.Fatalf("admitted and accepted, but FRR's parser refuses the configuration: %v\n%s\n%s", err, out, conf)
		}
		return true
	}
}
