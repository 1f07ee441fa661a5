package nodeplumber

import (
	"net/netip"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	evpnv1 "github.com/frr-k8s-evpn/frr-k8s-evpn/api/v1alpha1"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
)

// Live is what the router's FRR said at one read: its EVPN state, or why it
// could not be read.
type Live struct {
	Router frrstate.Router
	// Err is why FRR could not be read ("" when it was).
	Err string
}

// nextLive is what the node holds after one read of the router's FRR: the state
// read, with the establishment times of sessions that did not reconnect kept
// (frrstate.Steady), or why FRR could not be read. An FRR that stays unreadable
// is one state: a starved router fails a different command at each read, with
// FRR's half-written output in the error, and a status write for each (seen in a
// loaded lab: 25 in 22 minutes) would load the node further.
func nextLive(prev *Live, read frrstate.Router, err error) *Live {
	switch {
	case err != nil && prev != nil && prev.Err != "":
		return prev
	case err != nil:
		return &Live{Err: "the router's FRR could not be read: " + err.Error()}
	case prev != nil:
		return &Live{Router: frrstate.Steady(prev.Router, read)}
	default:
		return &Live{Router: read}
	}
}

// liveDelay is how long after a read of the router's FRR that took took the next
// one starts: the interval, and at least four times as long as the read took.
// A read costs the router's bgpd and zebra about as much as it takes, so on a
// node so starved that a read takes 20 s, reads take a fifth of FRR's time at
// most, where a fixed interval of 10 s would have them read back to back.
func liveDelay(interval, took time.Duration) time.Duration {
	return max(interval, liveSlowdown*took)
}

// liveSlowdown is how many times its own duration a read waits before the next.
const liveSlowdown = 4

// withLive adds the router's live EVPN state to a node status: the fabric
// sessions, and per L3VNI the VNI as FRR runs it, matched by VNI and VRF so that
// a VNI FRR still runs under an old VRF is not reported as the new one. A nil
// live (never read, or reading disabled) adds nothing.
func withLive(st *evpnv1.RouterNodeStatusStatus, live *Live) {
	if live == nil {
		return
	}
	if live.Err != "" {
		st.LiveError = live.Err
		return
	}
	st.Fabric = sessionStatuses(live.Router.Fabric)
	up := 0
	for _, s := range live.Router.Fabric {
		if s.Up() {
			up++
		}
	}
	st.FabricSessions = strconv.Itoa(up) + "/" + strconv.Itoa(len(live.Router.Fabric))
	vteps := map[netip.Addr]bool{}
	for i := range st.L3VNIs {
		ls := &st.L3VNIs[i]
		for _, v := range live.Router.VNIs {
			if int32(v.VNI) != ls.VNI || v.VRF != ls.VRF {
				continue
			}
			ls.EVPN = &evpnv1.L3VNIEVPNState{
				VNIState: v.State, RouterMAC: v.RouterMAC, RemoteVTEPs: v.RemoteVTEPs,
				Type5Advertised: int32(v.Type5Advertised), Type5Received: int32(v.Type5Received),
				HostSessions: sessionStatuses(v.HostSessions),
			}
			for _, a := range v.RemoteVTEPs {
				if ip, err := netip.ParseAddr(a); err == nil {
					vteps[ip] = true
				}
			}
		}
	}
	n := int32(len(vteps))
	st.RemoteVTEPs = &n
}

func sessionStatuses(ss []frrstate.Session) []evpnv1.BGPSessionStatus {
	var out []evpnv1.BGPSessionStatus
	for _, s := range ss {
		b := evpnv1.BGPSessionStatus{Peer: s.Peer, State: s.State, PrefixesReceived: int32(s.PrefixesReceived)}
		if !s.Since.IsZero() {
			t := metav1.NewTime(s.Since)
			b.Since = &t
		}
		out = append(out, b)
	}
	return out
}
