// Package v1alpha1 holds the evpn.frrk8s.dev/v1alpha1 API: Underlay, L3VNI and
// RouterNodeStatus. It carries types and validation markers only; decisions live in
// controllers/ and nodeplumber/.
//
// +kubebuilder:object:generate=true
// +groupName=evpn.frrk8s.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "evpn.frrk8s.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
