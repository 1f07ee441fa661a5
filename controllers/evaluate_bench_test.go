package controllers

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// BenchmarkEvaluate is one evaluation of the whole cluster, pure: 1000 nodes,
// 100 L3VNIs selecting all of them, every node reporting that it runs them.
func BenchmarkEvaluate(b *testing.B) {
	g := map[string]string{"group": "g"}
	u := *underlay("ns", "fabric", "g")
	u.Spec.VTEPCIDR, u.Spec.RouterIDCIDR = "100.64.0.0/16", "10.0.0.0/16" // room for every node
	aged(&u, 0)
	w := &World{Underlays: []evpnv1.Underlay{u}, Nodes: nodes(1000, g), FRRK8sNamespace: "frr", RouterStatuses: map[string]*evpnv1.RouterNodeStatus{}}
	running := map[string]int64{}
	for i := range 100 {
		l := *l3vni("ns", fmt.Sprintf("l%03d", i), "g", int32(100+i), fmt.Sprintf("10.%d.0.0/16", i))
		aged(&l, i)
		w.L3VNIs = append(w.L3VNIs, l)
		running[l.Name] = 1
	}
	for _, n := range w.Nodes {
		w.RouterStatuses[n.Name] = runs(n.Name, "fabric", 1, running)
	}
	plan := Evaluate(w, t0) // publish, as a settled cluster has
	for i := range plan.L3VNIs {
		w.L3VNIs[i].Status = plan.L3VNIs[i].Status
	}
	w.Underlays[0].Status = plan.Underlays[0].Status
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Evaluate(w, metav1.NewTime(t0.Add(1)))
	}
}
