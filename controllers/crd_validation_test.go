package controllers

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// TestCRDValidation sends bad objects to the real API server and checks that each
// is rejected with the message a user needs (CEL rules and schema of config/crd).
func TestCRDValidation(t *testing.T) {
	requireAPI(t)
	ns, _ := newNamespaces(t)
	i64 := func(v int64) *int64 { return &v }
	tests := []struct {
		name    string
		obj     func() client.Object
		wantErr string // "" = accepted
	}{
		{"valid seed L3VNI", func() client.Object { return l3vni(ns, "ok", "g", 100, seedLocalCIDR) }, ""},
		{"valid seed Underlay", func() client.Object { return underlay(ns, "ok", "g") }, ""},
		{"VNI zero", func() client.Object { return l3vni(ns, "a", "g", 0, seedLocalCIDR) }, "spec.vni"},
		{"VNI above 24 bits", func() client.Object { return l3vni(ns, "a", "g", 16777216, seedLocalCIDR) }, "spec.vni"},
		{"VRF name too long", func() client.Object {
			l := l3vni(ns, "a", "g", 1, seedLocalCIDR)
			l.Spec.VRF = "a-very-long-vrf-name"
			return l
		}, "spec.vrf"},
		{"VRF name with a space", func() client.Object {
			l := l3vni(ns, "a", "g", 1, seedLocalCIDR)
			l.Spec.VRF = "red blue"
			return l
		}, "spec.vrf"},
		{"long metadata.name without spec.vrf", func() client.Object {
			return l3vni(ns, "this-name-is-longer-than-fifteen", "g", 1, seedLocalCIDR)
		}, "spec.vrf is required when metadata.name is longer than 15 characters"},
		{"long metadata.name with spec.vrf", func() client.Object {
			l := l3vni(ns, "this-name-is-longer-than-fifteen", "g", 1, seedLocalCIDR)
			l.Spec.VRF = "short"
			return l
		}, ""},
		{"localCIDR not a CIDR", func() client.Object { return l3vni(ns, "a", "g", 1, "192.169.10.1") }, "localCIDR.ipv4 must be an IPv4 CIDR"},
		{"localCIDR with host bits", func() client.Object { return l3vni(ns, "a", "g", 1, "192.169.10.1/24") }, "must be a network address"},
		{"localCIDR /31", func() client.Object { return l3vni(ns, "a", "g", 1, "192.169.10.0/31") }, "must be /30 or larger"},
		{"IPv6 in the ipv4 field", func() client.Object { return l3vni(ns, "a", "g", 1, "fd00::/64") }, "localCIDR.ipv4 must be an IPv4 CIDR"},
		{"neither ipv4 nor ipv6", func() client.Object { return l3vni(ns, "a", "g", 1, "") }, "localCIDR needs ipv4, ipv6 or both"},
		{"IPv6 only", func() client.Object {
			l := l3vni(ns, "v6only", "g", 1, "")
			l.Spec.HostSession.LocalCIDR.IPv6 = "fd00:10::/64"
			return l
		}, ""},
		{"hostASN zero", func() client.Object {
			l := l3vni(ns, "a", "g", 1, seedLocalCIDR)
			l.Spec.HostSession.HostASN = 0
			return l
		}, "spec.hostSession.hostASN"},
		{"router ASN above 32 bits", func() client.Object {
			l := l3vni(ns, "a", "g", 1, seedLocalCIDR)
			l.Spec.HostSession.ASN = i64(4294967296)
			return l
		}, "spec.hostSession.asn"},
		{"4-byte ASN", func() client.Object {
			l := l3vni(ns, "asn4", "g", 1, seedLocalCIDR)
			l.Spec.HostSession.ASN = i64(4200000000)
			return l
		}, ""},
		{"bad route target", func() client.Object {
			l := l3vni(ns, "a", "g", 1, seedLocalCIDR)
			l.Spec.ImportRouteTargets = []evpnv1.RouteTarget{"64512:100\nrouter bgp 1"}
			return l
		}, "spec.importRouteTargets"},
		{"advertised prefix not declared", func() client.Object {
			l := l3vni(ns, "a", "g", 1, seedLocalCIDR)
			l.Spec.FRRK8s.ToAdvertise = &evpnv1.PrefixFilter{Mode: "filtered", Prefixes: []evpnv1.CIDR{"10.244.0.0/24"}}
			return l
		}, "every toAdvertise prefix must be listed in prefixes"},
		{"mode all with prefixes", func() client.Object {
			l := l3vni(ns, "a", "g", 1, seedLocalCIDR)
			l.Spec.FRRK8s.Prefixes = []evpnv1.CIDR{"10.244.0.0/24"}
			l.Spec.FRRK8s.ToAdvertise = &evpnv1.PrefixFilter{Mode: "all", Prefixes: []evpnv1.CIDR{"10.244.0.0/24"}}
			return l
		}, "prefixes must be empty when mode is all"},
		{"underlay ASN zero", func() client.Object {
			u := underlay(ns, "a", "g")
			u.Spec.ASN = 0
			return u
		}, "spec.asn"},
		{"underlay without NIC", func() client.Object {
			u := underlay(ns, "a", "g")
			u.Spec.NICs = nil
			return u
		}, "spec.nics"},
		{"NIC name with a slash", func() client.Object {
			u := underlay(ns, "a", "g")
			u.Spec.NICs = []evpnv1.InterfaceName{"eth1/../x"}
			return u
		}, "spec.nics"},
		{"neighbor address not an IP", func() client.Object {
			u := underlay(ns, "a", "g")
			u.Spec.Neighbors[0].Address = "leaf1"
			return u
		}, "address must be an IPv4 or IPv6 address"},
		{"vtepCIDR IPv6", func() client.Object {
			u := underlay(ns, "a", "g")
			u.Spec.VTEPCIDR = "fd00::/64"
			return u
		}, "vtepCIDR must be an IPv4 CIDR"},
		{"hold time too short", func() client.Object {
			u := underlay(ns, "a", "g")
			u.Spec.Neighbors[0].HoldTime = &metav1.Duration{Duration: 1e9}
			return u
		}, "holdTime must be 0 or between 3s and 65535s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := tt.obj()
			err := k8s.Create(context.Background(), obj, client.DryRunAll)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("valid object rejected: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("invalid object accepted; want an error with %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestCRDDefaults checks the defaults a user gets when leaving fields out.
func TestCRDDefaults(t *testing.T) {
	requireAPI(t)
	ns, _ := newNamespaces(t)
	u := underlay(ns, "fabric", "g")
	l := l3vni(ns, "red", "g", 100, seedLocalCIDR)
	create(t, u, l)
	if u.Spec.RouterIDCIDR != "10.0.0.0/24" {
		t.Errorf("routerIDCIDR default = %q", u.Spec.RouterIDCIDR)
	}
	if l.Spec.FRRK8s.ToReceive == nil || l.Spec.FRRK8s.ToReceive.Mode != "all" {
		t.Errorf("toReceive default = %+v, want mode all", l.Spec.FRRK8s.ToReceive)
	}
	if l.Spec.FRRK8s.ToAdvertise == nil || l.Spec.FRRK8s.ToAdvertise.Mode != "filtered" || len(l.Spec.FRRK8s.ToAdvertise.Prefixes) != 0 {
		t.Errorf("toAdvertise default = %+v, want mode filtered with no prefix", l.Spec.FRRK8s.ToAdvertise)
	}
}
