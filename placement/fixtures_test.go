package placement

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

var t0 = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

func objMeta(name string, age int) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Generation: 1,
		CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Second))}
}

func underlay(name string, age int, group, vtep string) evpnv1.Underlay {
	return evpnv1.Underlay{ObjectMeta: objMeta(name, age), Spec: evpnv1.UnderlaySpec{
		NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": group}},
		ASN:          64512, NICs: []evpnv1.InterfaceName{"eth1"},
		Neighbors: []evpnv1.Neighbor{{Address: "192.168.11.2", ASN: 64612}},
		VTEPCIDR:  vtep,
	}}
}

func l3vni(name string, age int, vni int32, cidr string) evpnv1.L3VNI {
	return evpnv1.L3VNI{ObjectMeta: objMeta(name, age), Spec: evpnv1.L3VNISpec{
		VNI:          vni,
		HostSession:  evpnv1.HostSession{HostASN: 64515, LocalCIDR: evpnv1.LocalCIDR{IPv4: cidr}},
		NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": "g"}},
	}}
}

// published returns obj as the controller left it after accepting its current
// generation.
func publishedL3VNI(l evpnv1.L3VNI) evpnv1.L3VNI {
	l.Status.Accepted = &evpnv1.AcceptedL3VNI{Generation: l.Generation, Spec: *l.Spec.DeepCopy(), RouterASN: 64512}
	return l
}

func publishedUnderlay(u evpnv1.Underlay) evpnv1.Underlay {
	u.Status.Accepted = &evpnv1.AcceptedUnderlay{Generation: u.Generation, Spec: *u.Spec.DeepCopy()}
	return u
}

// updated is a new generation of an object whose spec edit follows.
func updated[T evpnv1.L3VNI | evpnv1.Underlay](obj T) T {
	switch o := any(&obj).(type) {
	case *evpnv1.L3VNI:
		o.Generation++
	case *evpnv1.Underlay:
		o.Generation++
	}
	return obj
}
