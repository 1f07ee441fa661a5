package main

import (
	"os"
	"strings"
	"testing"
)

// TestAPIReferenceIsCurrent: docs/api.md is what the Go types say; run make
// manifests after changing them.
func TestAPIReferenceIsCurrent(t *testing.T) {
	got, err := Reference("../../api/v1alpha1")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../docs/api.md")
	if err != nil || string(got) != string(want) {
		t.Fatalf("docs/api.md is stale: run make manifests (%v)", err)
	}
}

// TestReferenceCoversTheAPI: every kind, every JSON field of the specs and one
// rule of each kind of marker reach the reference.
func TestReferenceCoversTheAPI(t *testing.T) {
	md, err := Reference("../../api/v1alpha1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## Underlay", "## L3VNI", "## RouterNodeStatus", "### L3VNISpec", "### HostSession", "### RouteTarget",
		"| `vni` | int32 |", "at least 1; at most 16777215",
		"*Optional.* VRF is the Linux VRF name",
		"\"default is FRR's own VRF and lo every namespace's loopback: pick another VRF name\"",
		"| `hostSession` | [HostSession](#hostsession) |",
		"| `nodeSelector` | metav1.LabelSelector |",
		`matches ` + "`^([0-9]{1,10}\\",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the reference lacks %q", want)
		}
	}
}
