package nodeplumber

import (
	"errors"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
)

// TestWithLive: what the router's FRR says lands on the L3VNI it runs (same VNI
// and VRF), remote VTEPs are counted once per node, and an unreadable FRR
// leaves only its reason.
func TestWithLive(t *testing.T) {
	since := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	router := frrstate.Router{
		Fabric: []frrstate.Session{
			{Peer: "192.168.11.2", State: "Established", Since: since, PrefixesReceived: 3},
			{Peer: "192.168.12.2", State: "Active"},
		},
		VNIs: []frrstate.VNI{
			{VNI: 100, VRF: "red", State: "Up", RemoteVTEPs: []string{"100.64.0.1", "100.65.0.2"}, Type5Advertised: 2, Type5Received: 1,
				HostSessions: []frrstate.Session{{Peer: "192.169.10.2", State: "Established", Since: since, PrefixesReceived: 2}}},
			{VNI: 200, VRF: "green", State: "Up", RemoteVTEPs: []string{"100.64.0.1"}},
			// FRR still binds VNI 300 to the VRF an older generation named.
			{VNI: 300, VRF: "old", State: "Up", RemoteVTEPs: []string{"100.64.0.9"}},
		},
	}
	base := func() evpnv1.RouterNodeStatusStatus {
		return evpnv1.RouterNodeStatusStatus{L3VNIs: []evpnv1.L3VNINodeState{
			{Name: "red", VNI: 100, VRF: "red"}, {Name: "green", VNI: 200, VRF: "green"}, {Name: "blue", VNI: 300, VRF: "blue"},
		}}
	}
	mt := metav1.NewTime(since)
	two := int32(2)

	st := base()
	withLive(&st, &Live{Router: router})
	want := base()
	want.Fabric = []evpnv1.BGPSessionStatus{
		{Peer: "192.168.11.2", State: "Established", Since: &mt, PrefixesReceived: 3},
		{Peer: "192.168.12.2", State: "Active"},
	}
	want.FabricSessions, want.RemoteVTEPs = "1/2", &two
	want.L3VNIs[0].EVPN = &evpnv1.L3VNIEVPNState{VNIState: "Up", RemoteVTEPs: []string{"100.64.0.1", "100.65.0.2"}, Type5Advertised: 2, Type5Received: 1,
		HostSessions: []evpnv1.BGPSessionStatus{{Peer: "192.169.10.2", State: "Established", Since: &mt, PrefixesReceived: 2}}}
	want.L3VNIs[1].EVPN = &evpnv1.L3VNIEVPNState{VNIState: "Up", RemoteVTEPs: []string{"100.64.0.1"}}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("got  %+v\nwant %+v", st, want)
	}

	st = base()
	withLive(&st, &Live{Err: "the router's FRR could not be read: bgpd is not running"})
	if st.LiveError == "" || st.Fabric != nil || st.FabricSessions != "" || st.L3VNIs[0].EVPN != nil {
		t.Errorf("unreadable FRR: %+v", st)
	}

	st = base()
	withLive(&st, nil)
	if !reflect.DeepEqual(st, base()) {
		t.Errorf("nothing read yet, yet the status changed: %+v", st)
	}
}

// TestNextLive: a read replaces what the node holds, sessions that did not
// reconnect keep their establishment time, and an FRR that stays unreadable stays
// one state whichever command failed (no status write per failed read).
func TestNextLive(t *testing.T) {
	first := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	session := func(since time.Time) frrstate.Router {
		return frrstate.Router{Fabric: []frrstate.Session{{Peer: "192.168.11.2", State: "Established", Since: since, Connections: 1}}}
	}
	unreadable := &Live{Err: "the router's FRR could not be read: show bgp vrf all summary json: FRR does not answer: signal: killed"}
	for _, tc := range []struct {
		name string
		prev *Live
		read frrstate.Router
		err  error
		want *Live
	}{
		{"first read", nil, session(first), nil, &Live{Router: session(first)}},
		{"the same session read a second later", &Live{Router: session(first)}, session(first.Add(time.Second)), nil, &Live{Router: session(first)}},
		{"FRR stops answering", &Live{Router: session(first)}, frrstate.Router{}, errors.New("show bgp vrf all summary json: FRR does not answer: signal: killed"), unreadable},
		{"another command fails next", unreadable, frrstate.Router{}, errors.New("show evpn rmac vni all json: FRR does not answer: {\n\"100\":{"), unreadable},
		{"FRR answers again", unreadable, session(first), nil, &Live{Router: session(first)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextLive(tc.prev, tc.read, tc.err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("nextLive = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestLiveDelay: a read that answers quickly keeps the interval; a slow one
// pushes the next read back to four times its duration, so that reads of a
// starved router never run back to back.
func TestLiveDelay(t *testing.T) {
	for _, tc := range []struct {
		interval, took, want time.Duration
	}{
		{10 * time.Second, 200 * time.Millisecond, 10 * time.Second},
		{10 * time.Second, 2500 * time.Millisecond, 10 * time.Second},
		{10 * time.Second, 20 * time.Second, 80 * time.Second},
		{30 * time.Second, 30 * time.Second, 120 * time.Second},
	} {
		if got := liveDelay(tc.interval, tc.took); got != tc.want {
			t.Errorf("liveDelay(%v, %v) = %v; want %v", tc.interval, tc.took, got, tc.want)
		}
	}
}
