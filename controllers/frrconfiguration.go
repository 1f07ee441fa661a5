package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"

	frrv1beta1 "github.com/metallb/frr-k8s/api/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/addressing"
	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
)

// OwnerAnnotation holds "namespace/name" of the L3VNI a generated FRRConfiguration
// belongs to (a label value cannot hold every L3VNI name).
const OwnerAnnotation = "evpn.frrk8s.dev/l3vni"

// GenerationAnnotation records the L3VNI generation a FRRConfiguration was built
// from, so that status can say which version is in effect after a rejected update.
const GenerationAnnotation = "evpn.frrk8s.dev/l3vni-generation"

// FRRConfigurationName is the name of the FRRConfiguration generated for an L3VNI:
// evpn-<namespace>-<name>, shortened with a hash when longer than a name may be.
func FRRConfigurationName(l3vniNamespace, l3vniName string) string {
	return shorten("evpn-"+l3vniNamespace+"-"+l3vniName, validation.DNS1123SubdomainMaxLength)
}

// ownerLabelValue is the L3VNI name as a label value (at most 63 characters).
func ownerLabelValue(name string) string {
	return shorten(name, validation.LabelValueMaxLength)
}

func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:max-11] + "-" + hex.EncodeToString(sum[:])[:10]
}

// BuildFRRConfiguration returns the FRRConfiguration that makes FRR-K8s peer with
// the router leg on every node an L3VNI's accepted version selects, narrowed by
// its frrK8s.nodeSelector; it is written
// to namespace. The version must be valid.
func BuildFRRConfiguration(l3vniNamespace, l3vniName string, accepted *evpnv1.AcceptedL3VNI, namespace string) (*frrv1beta1.FRRConfiguration, error) {
	spec, routerASN := accepted.Spec, accepted.RouterASN
	var neighbors []frrv1beta1.Neighbor
	for _, cidr := range []string{spec.HostSession.LocalCIDR.IPv4, spec.HostSession.LocalCIDR.IPv6} {
		if cidr == "" {
			continue
		}
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("L3VNI %s: localCIDR %q: %w", l3vniName, cidr, err)
		}
		leg, err := addressing.RouterLeg(p)
		if err != nil {
			return nil, fmt.Errorf("L3VNI %s: router leg: %w", l3vniName, err)
		}
		n := frrv1beta1.Neighbor{
			ASN:     uint32(routerASN),
			Address: leg.String(),
			// Spelled out although they are the CRD's defaults, so that what the
			// API server stores equals what we build and an unchanged L3VNI causes
			// no write.
			AddressFamilies: []frrv1beta1.AddressFamily{frrv1beta1.AddressFamilyUnicast},
			ConnectTime:     copyDuration(spec.FRRK8s.ConnectTime),
			ToReceive:       frrv1beta1.Receive{Allowed: receiveFilter(spec.FRRK8s.ToReceive)},
			ToAdvertise:     frrv1beta1.Advertise{Allowed: advertiseFilter(spec.FRRK8s.ToAdvertise)},
			// FRR-K8s helps the router through a restart: it keeps the routes
			// learned from the router while the router's FRR comes back, and the
			// kernel forwards meanwhile. FRR-K8s merges neighbors without comparing
			// this field, so a BGPPeer at the router leg must set it too.
			EnableGracefulRestart: true,
		}
		if spec.FRRK8s.BFDProfile != nil {
			n.BFDProfile = spec.FRRK8s.BFDProfile.Name
		}
		neighbors = append(neighbors, n)
	}

	router := frrv1beta1.Router{ASN: uint32(spec.HostSession.HostASN), Neighbors: neighbors}
	for _, p := range spec.FRRK8s.Prefixes {
		router.Prefixes = append(router.Prefixes, string(p))
	}
	cfg := &frrv1beta1.FRRConfiguration{
		ObjectMeta: metav1.ObjectMeta{
			Name:      FRRConfigurationName(l3vniNamespace, l3vniName),
			Namespace: namespace,
			Labels: map[string]string{
				evpnv1.ManagedByLabel:      evpnv1.ManagedByValue,
				evpnv1.L3VNINameLabel:      ownerLabelValue(l3vniName),
				evpnv1.L3VNINamespaceLabel: l3vniNamespace,
			},
			Annotations: map[string]string{
				OwnerAnnotation:      l3vniNamespace + "/" + l3vniName,
				GenerationAnnotation: fmt.Sprint(accepted.Generation),
			},
		},
		Spec: frrv1beta1.FRRConfigurationSpec{
			BGP: frrv1beta1.BGPConfig{Routers: []frrv1beta1.Router{router}},
		},
	}
	if sel := bothSelectors(spec.NodeSelector, spec.FRRK8s.NodeSelector); sel != nil {
		cfg.Spec.NodeSelector = *sel
	}
	if b := spec.FRRK8s.BFDProfile; b != nil {
		cfg.Spec.BGP.BFDProfiles = []frrv1beta1.BFDProfile{{
			Name:             b.Name,
			ReceiveInterval:  toUint32(b.ReceiveInterval),
			TransmitInterval: toUint32(b.TransmitInterval),
			DetectMultiplier: toUint32(b.DetectMultiplier),
		}}
	}
	return cfg, nil
}

// bothSelectors is a selector of the nodes both a and b select (nil selects every
// node). A key both match on with different values is kept as two expressions, so
// that no node matches, as the two selectors mean.
func bothSelectors(a, b *metav1.LabelSelector) *metav1.LabelSelector {
	if a == nil {
		a, b = b, nil
	}
	if a == nil {
		return nil
	}
	out := a.DeepCopy()
	if b == nil {
		return out
	}
	for k, v := range b.MatchLabels {
		switch have, ok := out.MatchLabels[k]; {
		case !ok:
			if out.MatchLabels == nil {
				out.MatchLabels = map[string]string{}
			}
			out.MatchLabels[k] = v
		case have != v:
			out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{v}})
		}
	}
	for _, e := range b.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, *e.DeepCopy())
	}
	return out
}

// copyDuration keeps the FRRConfiguration from sharing memory with the L3VNI.
func copyDuration(d *metav1.Duration) *metav1.Duration {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}

// receiveFilter maps toReceive; unset means all, the API's default.
func receiveFilter(f *evpnv1.PrefixFilter) frrv1beta1.AllowedInPrefixes {
	if f == nil || f.Mode == evpnv1.PrefixModeAll {
		return frrv1beta1.AllowedInPrefixes{Mode: frrv1beta1.AllowAll}
	}
	out := frrv1beta1.AllowedInPrefixes{Mode: frrv1beta1.AllowRestricted}
	for _, p := range f.Prefixes {
		out.Prefixes = append(out.Prefixes, frrv1beta1.PrefixSelector{Prefix: string(p)})
	}
	return out
}

// advertiseFilter maps toAdvertise; unset means none, the API's default.
func advertiseFilter(f *evpnv1.PrefixFilter) frrv1beta1.AllowedOutPrefixes {
	if f != nil && f.Mode == evpnv1.PrefixModeAll {
		return frrv1beta1.AllowedOutPrefixes{Mode: frrv1beta1.AllowAll}
	}
	out := frrv1beta1.AllowedOutPrefixes{Mode: frrv1beta1.AllowRestricted}
	if f == nil {
		return out
	}
	for _, p := range f.Prefixes {
		out.Prefixes = append(out.Prefixes, string(p))
	}
	return out
}

func toUint32(v *int32) *uint32 {
	if v == nil {
		return nil
	}
	u := uint32(*v)
	return &u
}
