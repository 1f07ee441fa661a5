package nodeplumber

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/placement"
)

// Pure logic of Keep, with L3VNIs (which need a VRF in the kernel, so the
// reconciler tests on this host exercise Keep with the underlay alone).
func TestKeep(t *testing.T) {
	red := seedL3VNI()
	red.UID = "red-1"
	blue := seedL3VNI()
	blue.Name, blue.UID, blue.Spec.VNI, blue.Spec.HostSession.LocalCIDR.IPv4 = "blue", "blue-1", 200, "10.9.0.0/29" // indexes 0..4
	u := seedUnderlay()
	u.UID = "fabric-1"
	running := Desired(planFor(u, []evpnv1.L3VNI{red, blue}, 0), NodeFacts{}).State

	names := func(s State) string {
		var out []string
		if s.Underlay.Name != "" {
			out = append(out, s.Underlay.Name)
		}
		for _, l := range s.L3VNIs {
			out = append(out, l.Name)
		}
		vrfs := []string{}
		for _, v := range s.FRR.VRFs {
			vrfs = append(vrfs, v.Name)
		}
		return strings.Join(out, " ") + " | " + strings.Join(vrfs, " ")
	}
	withSecret := func(u *evpnv1.Underlay) *evpnv1.Underlay {
		c := u.DeepCopy()
		c.Generation++
		c.Spec.Neighbors[0].PasswordSecret = &evpnv1.SecretRef{Name: "missing"}
		return c
	}
	recreated := red
	recreated.UID, recreated.Spec.VNI = "red-2", 300
	tests := []struct {
		name     string
		underlay *evpnv1.Underlay
		l3vnis   []evpnv1.L3VNI
		index    int
		want     string
	}{
		{"nothing fails: the decision", u, []evpnv1.L3VNI{red, blue}, 0, "fabric red blue | blue red"},
		{"an L3VNI is deleted: it goes", u, []evpnv1.L3VNI{red}, 0, "fabric red | red"},
		{"the Underlay fails: the node keeps all it runs", withSecret(u), []evpnv1.L3VNI{red, blue}, 0, "fabric red blue | blue red"},
		{"the Underlay fails and an L3VNI is deleted: that one still goes", withSecret(u), []evpnv1.L3VNI{red}, 0, "fabric red | red"},
		{"the Underlay is deleted: everything goes", nil, []evpnv1.L3VNI{red, blue}, 0, " | "},
		{"the node moved to another Underlay, which fails: the old one goes, nothing comes", func() *evpnv1.Underlay {
			o := withSecret(u)
			o.Name, o.UID = "other", "other-1"
			return o
		}(), []evpnv1.L3VNI{red, blue}, 0, " | "},
		{"an L3VNI fails here: its running version stays", u, []evpnv1.L3VNI{red, blue}, 5, "fabric red blue | blue red"},
		{"a recreated L3VNI of the same name is another object: the old one goes", u, []evpnv1.L3VNI{recreated, blue}, 0, "fabric blue red | blue red"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := planFor(tt.underlay, tt.l3vnis, tt.index)
			if tt.underlay != nil {
				plan.Underlay.UID = tt.underlay.UID
			}
			got := Keep(Desired(plan, NodeFacts{}), plan, &running)
			if n := names(got); n != tt.want {
				t.Errorf("runs %q, want %q", n, tt.want)
			}
			for _, l := range got.L3VNIs {
				if l.Name == "red" && tt.name == "a recreated L3VNI of the same name is another object: the old one goes" && l.VNI != 300 {
					t.Errorf("the recreated red runs VNI %d, want 300", l.VNI)
				}
			}
		})
	}
}

// TestNodeStatusNamesEveryProblem: the node's Ready condition carries the
// reason of the first problem and every message; per object, the generation it
// runs.
func TestNodeStatusNamesEveryProblem(t *testing.T) {
	red := seedL3VNI()
	plan := planFor(seedUnderlay(), []evpnv1.L3VNI{red}, 300)
	d := Desired(plan, NodeFacts{})
	st := NodeStatus(plan, d, Outcome{Reload: &evpnv1.ReloadResult{Result: evpnv1.ReloadSuccess}}, nil, metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	c := st.Conditions[0]
	if c.Status != "False" || c.Reason != placement.ReasonAddressOutOfRange || !strings.Contains(c.Message, "index 300") || !strings.Contains(c.Message, "cannot run Underlay fabric") {
		t.Errorf("Ready = %+v", c)
	}
	if len(st.L3VNIs) != 1 || st.L3VNIs[0].Ready || st.L3VNIs[0].ObservedGeneration != 0 || st.L3VNIs[0].Message == "" {
		t.Errorf("red on the node: %+v", st.L3VNIs)
	}
}

// TestNodeStatusTellsWaitingFromFailing: a reload that FRR refused is a failure;
// one that did not reach a ready FRR (a router pod still starting on a slow node)
// is waiting for the router, and its end is "Applied", not a recovery.
func TestNodeStatusTellsWaitingFromFailing(t *testing.T) {
	plan := planFor(seedUnderlay(), []evpnv1.L3VNI{seedL3VNI()}, 0)
	d := Desired(plan, NodeFacts{})
	failure := &evpnv1.ReloadResult{Result: evpnv1.ReloadFailure, Message: "FRR is not up: bgpd=Down"}
	for _, tc := range []struct {
		name       string
		out        Outcome
		wantReason string
		wantText   string
	}{
		{"no reload yet", Outcome{}, ReasonNotReloaded, "has not confirmed the configuration yet"},
		{"the router is starting", Outcome{Reload: failure, ReloadWaiting: true}, ReasonNotReloaded, "has not confirmed the configuration yet: FRR is not up: bgpd=Down"},
		{"FRR refused it", Outcome{Reload: failure}, ReasonReloadFailed, "FRR reload failed: FRR is not up"},
		{"applied", Outcome{Reload: &evpnv1.ReloadResult{Result: evpnv1.ReloadSuccess}}, ReasonApplied, "runs the accepted version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.out.Running = d.State // the node runs what it should: only the reload differs
			c := NodeStatus(plan, d, tc.out, nil, metav1.Now()).Conditions[0]
			if c.Reason != tc.wantReason || !strings.Contains(c.Message, tc.wantText) {
				t.Errorf("Ready = %s %q, want %s with %q", c.Reason, c.Message, tc.wantReason, tc.wantText)
			}
		})
	}
}
