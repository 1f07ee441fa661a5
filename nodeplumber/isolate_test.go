package nodeplumber

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"k8s.io/apimachinery/pkg/types"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrreload"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
)

func TestRevertAndChanged(t *testing.T) {
	red, green := seedL3VNIState(100, "red", 10), seedL3VNIState(200, "green", 11)
	red.UID, green.UID = "u-red", "u-green"
	lab := &lab{router: "rt"}
	last := lab.state(red, green)
	last.FRR.VRFs = vrfsOf(last.L3VNIs)

	green2 := green
	green2.MTU = 1400
	blue := seedL3VNIState(300, "blue", 12)
	blue.UID = "u-blue"
	now := lab.state(red, green2, blue)
	now.FRR.VRFs = vrfsOf(now.L3VNIs)

	recreated := seedL3VNIState(100, "red", 10)
	recreated.UID = "u-red-2"
	again := lab.state(recreated)
	again.FRR.VRFs = vrfsOf(again.L3VNIs)

	tests := []struct {
		name      string
		s         State
		revert    string
		last      *State
		wantNames []string
		wantMTU   map[string]int
	}{
		{"a changed L3VNI goes back to the version that ran", now, "green", &last, []string{"red", "green", "blue"}, map[string]int{"green": 8950}},
		{"a new L3VNI leaves", now, "blue", &last, []string{"red", "green"}, map[string]int{"green": 1400}},
		{"without a known past it leaves", now, "green", nil, []string{"red", "blue"}, nil},
		{"a recreated object (new UID) does not get the old one's version", again, "red", &last, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := revert(tc.s, tc.revert, tc.last)
			var names []string
			for _, l := range got.L3VNIs {
				names = append(names, l.Name)
				if want, ok := tc.wantMTU[l.Name]; ok && l.MTU != want {
					t.Errorf("%s MTU = %d, want %d", l.Name, l.MTU, want)
				}
			}
			if !sameSet(names, tc.wantNames) {
				t.Errorf("L3VNIs = %v, want %v", names, tc.wantNames)
			}
			if len(got.FRR.VRFs) != len(got.L3VNIs) {
				t.Errorf("%d VRF stanzas for %d L3VNIs", len(got.FRR.VRFs), len(got.L3VNIs))
			}
		})
	}
	if got := changedL3VNIs(now, &last); !reflect.DeepEqual(got, []string{"blue", "green"}) {
		t.Errorf("changed = %v, want [blue green]", got)
	}
	if got := changedL3VNIs(last, &last); len(got) != 0 {
		t.Errorf("nothing changed, got %v", got)
	}
}

func vrfsOf(ls []L3VNIState) (out []frrtemplates.VRF) {
	for _, l := range ls {
		out = append(out, frrtemplates.VRF{Name: l.VRF, VNI: uint32(l.VNI), ASN: l.RouterASN})
	}
	return out
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestOneL3VNIFailsAlone needs a VRF and FRR: the kernel refusing one L3VNI's
// devices, and FRR refusing one L3VNI's stanza, leave the node's other L3VNIs
// applied, up and still changeable; the failing one is named, goes back to the
// version the node ran (or stays out), and a stanza FRR refused is not tried
// again until it changes. Devices recreated because a field changed come up.
func TestOneL3VNIFailsAlone(t *testing.T) {
	requireVRF(t)
	frrinstance.Require(t)
	l := newLab(t)
	ctx := context.Background()
	router, frrReloader := l.routerFRR(t)
	// What the API admits renders only stanzas FRR takes (the fuzz test checks
	// that), and FRR's reload exits 0 even on a route target it refuses; so a
	// refusal is made at the reloader's door for one route target, as FRR's own
	// would come back. Everything else is the real FRR.
	refused := &refusingApplier{next: directApplier{frrReloader}, marker: "route-target export 64512:666"}
	reloader := &countingApplier{next: refused}
	r := &Reconciler{Netns: l.router, Kernel: l.k, Reloader: reloader, StateFile: filepath.Join(t.TempDir(), "applied.json"),
		applied: &State{}, loaded: true}

	underlay := seedUnderlay()
	l3vni := func(name string, vni int32, cidr string, edit func(*evpnv1.L3VNI)) evpnv1.L3VNI {
		x := seedL3VNI()
		x.Name, x.UID, x.Spec.VNI, x.Spec.HostSession.LocalCIDR.IPv4 = name, types.UID("u-"+name), vni, cidr
		if edit != nil {
			edit(&x)
		}
		return x
	}
	pass := func(l3vnis ...evpnv1.L3VNI) ran {
		t.Helper()
		s, err := desired(underlay, l3vnis, 0, NodeFacts{UnderlayMTU: 9000})
		if err != nil {
			t.Fatal(err)
		}
		s.Netns = l.router

		out := r.run(ctx, s, nil)
		if out.err != nil {
			t.Fatalf("a failure of the whole node: %v\n%s", out.err, router.Logs())
		}
		return out
	}
	failedOnly := func(out ran, want map[string]string) {
		t.Helper()
		got, msgs := map[string]string{}, []string{}
		for name, p := range out.failed {
			got[name] = p.Reason
			msgs = append(msgs, p.Message)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("failed = %v, want %v: %s", got, want, strings.Join(msgs, "; "))
		}
	}
	upIn := func(ns string, names ...string) {
		t.Helper()
		h := l.handle(t, ns)
		for _, n := range names {
			link, err := h.LinkByName(n)
			if err != nil {
				t.Errorf("%s: %v", n, err)
			} else if link.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("%s is down", n)
			}
		}
	}
	running := func() string { return router.Vtysh(t, "show running-config") }

	red := l3vni("red", 100, "192.169.10.0/24", nil)
	green := l3vni("green", 200, "192.169.11.0/24", nil)
	failedOnly(pass(red, green), map[string]string{})
	upIn(l.router, "red", "br100", "vx100", "pe100", "green", "br200", "vx200", "pe200")

	// The kernel refuses blue's host leg (a device the plumber does not own is in
	// the way); red stays, green's change goes through.
	frrinstance.Run(t, "ip", "-n", l.host, "link", "add", "hs300", "type", "dummy")
	blue := l3vni("blue", 300, "192.169.12.0/24", nil)
	green.Spec.MTU = ptr(int32(1400))
	out := pass(red, green, blue)
	failedOnly(out, map[string]string{"blue": ReasonApplyFailed})
	if msg := out.failed["blue"].Message; !strings.Contains(msg, "hs300") {
		t.Errorf("blue's problem does not name the device in the way: %s", msg)
	}
	upIn(l.router, "red", "br100", "vx100", "green", "br200", "vx200")
	if link, err := l.handle(t, l.router).LinkByName("br200"); err != nil || link.Attrs().MTU != 1400 {
		t.Errorf("green's change did not go through: %v %v", link, err)
	}
	if _, err := l.handle(t, l.router).LinkByName("br300"); err == nil {
		t.Error("blue's half-made devices were left behind")
	}
	if c := running(); strings.Contains(c, "vrf blue") || !strings.Contains(c, "vrf green") {
		t.Errorf("FRR runs blue, or lost green:\n%s", c)
	}

	// FRR refuses green's new stanza; red's change in the same pass goes
	// through, green keeps the version it ran, blue still waits for its device.
	green.Spec.ExportRouteTargets = []evpnv1.RouteTarget{"64512:666"}
	red.Spec.ExportRouteTargets = []evpnv1.RouteTarget{"64512:1001"}
	out = pass(red, green, blue)
	failedOnly(out, map[string]string{"green": ReasonReloadFailed, "blue": ReasonApplyFailed})
	if msg := out.failed["green"].Message; !strings.Contains(msg, "64512:666") {
		t.Errorf("green's problem does not carry FRR's text: %s", msg)
	}
	if c := running(); !strings.Contains(c, "route-target export 64512:1001") || strings.Contains(c, "64512:666") {
		t.Errorf("FRR should run red's change and not green's:\n%s", c)
	}
	if r.lastReload == nil || r.lastReload.Result != evpnv1.ReloadSuccess {
		t.Errorf("the node's last reload is %+v: FRR runs a good configuration", r.lastReload)
	}
	upIn(l.router, "red", "vx100", "green", "vx200")

	// The same refused stanza is not handed to FRR again, nor any device touched.
	writes, calls := l.k.Writes(), reloader.calls.Load()
	failedOnly(pass(red, green, blue), map[string]string{"green": ReasonReloadFailed, "blue": ReasonApplyFailed})
	if n, c := l.k.Writes()-writes, reloader.calls.Load()-calls; c != 0 {
		t.Errorf("a pass that repeats a refusal made %d netlink writes and %d reloads", n, c)
	}
	green.Spec.ExportRouteTargets = []evpnv1.RouteTarget{"64512:2001"}
	failedOnly(pass(red, green, blue), map[string]string{"blue": ReasonApplyFailed})
	if c := running(); !strings.Contains(c, "route-target export 64512:2001") {
		t.Errorf("green's fixed stanza is not running:\n%s", c)
	}

	// A new VTEP and VXLAN port recreate every VXLAN device: they come up again.
	underlay.Spec.VTEPCIDR, underlay.Spec.VXLANPort = "100.66.0.0/24", 4790
	failedOnly(pass(red, green, blue), map[string]string{"blue": ReasonApplyFailed})
	h := l.handle(t, l.router)
	for _, name := range []string{"vx100", "vx200"} {
		link, err := h.LinkByName(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		vx, ok := link.(*netlink.Vxlan)
		if !ok || vx.Port != 4790 || vx.SrcAddr.String() != "100.66.0.1" || link.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("%s after the change: %+v (up %v)", name, link, link.Attrs().Flags&net.FlagUp != 0)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// refusingApplier answers as the reloader does when FRR refuses a stanza, for
// configurations that hold marker; it hands the others to the real reloader.
type refusingApplier struct {
	next   ConfigApplier
	marker string
}

func (a *refusingApplier) Health(ctx context.Context) error { return a.next.Health(ctx) }
func (a *refusingApplier) State(ctx context.Context) (frrstate.Router, error) {
	return a.next.State(ctx)
}

func (a *refusingApplier) Apply(ctx context.Context, config string) (frrreload.Response, error) {
	if strings.Contains(config, a.marker) {
		msg := fmt.Sprintf("%v: applying: line 42: %% Malformed %s", frrreload.ErrRejected, a.marker)
		return frrreload.Response{Result: frrreload.ResultFailure, Message: msg}, fmt.Errorf("%w: applying: %% Malformed %s", frrreload.ErrRejected, a.marker)
	}
	return a.next.Apply(ctx, config)
}
