// Package frrstate reads what a running router's FRR says about EVPN: its fabric
// sessions and, per L3VNI, the VNI as zebra runs it, the remote VTEPs, the type-5
// routes it advertises and imports, and the sessions to the host leg. It knows
// nothing of Kubernetes: the reloader runs Commands in the router's FRR and Parse
// turns their JSON into a Router, which the plumber puts into the node's status.
//
// Every count comes from one FRR table, named where it is computed, so that a
// person can check a figure with the same vtysh command.
package frrstate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Router is one router's EVPN state.
type Router struct {
	// Fabric are the sessions of the default instance: to the leaves (or route
	// reflectors) that carry EVPN.
	Fabric []Session `json:"fabric,omitempty"`
	// VNIs are the L3VNIs zebra knows, by VNI.
	VNIs []VNI `json:"vnis,omitempty"`
}

// Session is one BGP session as bgpd reports it.
type Session struct {
	Peer string `json:"peer"`
	// State is bgpd's: Established, Active, Connect, Idle, OpenSent, ...
	State string `json:"state"`
	// Since is when the session was established (zero when it is not). FRR
	// derives it from the session's uptime, so two reads may differ by a second:
	// Steady keeps the first.
	Since time.Time `json:"since,omitzero"`
	// Connections counts the times the session was established since bgpd
	// started: a session whose count did not move did not flap.
	Connections int `json:"connections"`
	// PrefixesReceived counts the prefixes received on the session's main family
	// (EVPN for a fabric session, IPv4 or IPv6 unicast for a host-leg one).
	PrefixesReceived int `json:"prefixesReceived"`
}

// Established is bgpd's state of a session that is up.
const Established = "Established"

// Up says whether the session is established.
func (s Session) Up() bool { return s.State == Established }

// VNI is one L3VNI as the router runs it.
type VNI struct {
	VNI int    `json:"vni"`
	VRF string `json:"vrf"`
	// State is zebra's: Up once the VRF, the VXLAN device and the bridge exist
	// and are up.
	State     string `json:"state"`
	RouterMAC string `json:"routerMAC,omitempty"`
	// RemoteVTEPs are the VTEPs this VRF has router MACs for: the nodes and
	// leaves it sends VXLAN to.
	RemoteVTEPs []string `json:"remoteVTEPs,omitempty"`
	// Type5Advertised counts the type-5 routes this router originates for the
	// VNI (those under the VNI's own route distinguisher).
	Type5Advertised int `json:"type5Advertised"`
	// Type5Received counts the prefixes of the VRF's table whose best path was
	// imported from the fabric (learned from a fabric peer).
	Type5Received int `json:"type5Received"`
	// HostSessions are the VRF's sessions: to FRR-K8s on the host leg.
	HostSessions []Session `json:"hostSessions,omitempty"`
}

// The commands Parse reads, all read-only and all in JSON.
const (
	CmdSessions   = "show bgp vrf all summary json"
	CmdVNIs       = "show vrf vni json"
	CmdRouterMACs = "show evpn rmac vni all json"
	CmdBGPVNIs    = "show bgp l2vpn evpn vni json"
	CmdType5      = "show bgp l2vpn evpn route type prefix json"
	CmdIPv4Routes = "show bgp vrf all ipv4 unicast json"
	CmdIPv6Routes = "show bgp vrf all ipv6 unicast json"
)

// Commands are what Read runs, in order.
var Commands = []string{CmdSessions, CmdVNIs, CmdRouterMACs, CmdBGPVNIs, CmdType5, CmdIPv4Routes, CmdIPv6Routes}

// daemonOf is the FRR daemon that answers each of Commands, as vtysh would route it.
var daemonOf = map[string]string{
	CmdSessions: "bgpd", CmdBGPVNIs: "bgpd", CmdType5: "bgpd", CmdIPv4Routes: "bgpd", CmdIPv6Routes: "bgpd",
	CmdVNIs: "zebra", CmdRouterMACs: "zebra",
}

// Read runs Commands through run, which asks the named daemon (the reloader:
// through the daemon's vty socket), and parses their output.
func Read(ctx context.Context, run func(ctx context.Context, daemon, command string) ([]byte, error)) (Router, error) {
	out := make(map[string][]byte, len(Commands))
	for _, c := range Commands {
		b, err := run(ctx, daemonOf[c], c)
		if err != nil {
			return Router{}, fmt.Errorf("%s: %w", c, err)
		}
		out[c] = b
	}
	return Parse(out)
}

// FRR's JSON, only the fields read.
type (
	summaryPeer struct {
		State      string `json:"state"`
		EpochSince int64  `json:"peerUptimeEstablishedEpoch"`
		PfxRcd     int    `json:"pfxRcd"`
		Conns      int    `json:"connectionsEstablished"`
	}
	summaryAF struct {
		Peers map[string]summaryPeer `json:"peers"`
	}
	vrfSummary struct {
		IPv4 *summaryAF `json:"ipv4Unicast"`
		IPv6 *summaryAF `json:"ipv6Unicast"`
		EVPN *summaryAF `json:"l2VpnEvpn"`
	}
	vrfVNIs struct {
		VRFs []struct {
			VRF       string `json:"vrf"`
			VNI       int    `json:"vni"`
			State     string `json:"state"`
			RouterMAC string `json:"routerMac"`
		} `json:"vrfs"`
	}
	vrfRoutes struct {
		Routes map[string][]struct {
			Best   bool   `json:"bestpath"`
			PeerID string `json:"peerId"`
		} `json:"routes"`
	}
)

// Parse turns the output of each of Commands into a Router.
func Parse(out map[string][]byte) (Router, error) {
	var r Router
	var sessions map[string]vrfSummary
	if err := decode(out, CmdSessions, &sessions); err != nil {
		return r, err
	}
	fabricPeers := map[string]bool{}
	if def, ok := sessions["default"]; ok {
		// The EVPN family when the fabric carries it, else whatever the instance has.
		r.Fabric = toSessions(first(def.EVPN, def.IPv4, def.IPv6))
		for _, s := range r.Fabric {
			fabricPeers[s.Peer] = true
		}
	}

	var vnis vrfVNIs
	if err := decode(out, CmdVNIs, &vnis); err != nil {
		return r, err
	}
	vteps, err := remoteVTEPs(out)
	if err != nil {
		return r, err
	}
	advertised, err := type5ByVNI(out)
	if err != nil {
		return r, err
	}
	received := map[string]int{}
	for _, cmd := range []string{CmdIPv4Routes, CmdIPv6Routes} {
		var tables map[string]vrfRoutes
		if err := decode(out, cmd, &tables); err != nil {
			return r, err
		}
		for vrf, t := range tables {
			if vrf == "default" {
				continue
			}
			for _, paths := range t.Routes {
				for _, p := range paths {
					if p.Best && fabricPeers[p.PeerID] {
						received[vrf]++
					}
				}
			}
		}
	}
	for _, v := range vnis.VRFs {
		vs := sessions[v.VRF]
		host := append(toSessions(vs.IPv4), toSessions(vs.IPv6)...)
		sortSessions(host)
		r.VNIs = append(r.VNIs, VNI{
			VNI: v.VNI, VRF: v.VRF, State: v.State, RouterMAC: v.RouterMAC,
			RemoteVTEPs:     vteps[v.VNI],
			Type5Advertised: advertised[v.VNI],
			Type5Received:   received[v.VRF],
			HostSessions:    host,
		})
	}
	sort.Slice(r.VNIs, func(i, j int) bool { return r.VNIs[i].VNI < r.VNIs[j].VNI })
	return r, nil
}

// Steady returns cur with the establishment time of prev for every session that
// stayed established without a new connection: FRR computes that time from the
// session's uptime at each read, and a second of rounding is not a change worth
// a status write.
func Steady(prev, cur Router) Router {
	keep := func(old, now []Session) []Session {
		if len(old) == 0 || len(now) == 0 {
			return now
		}
		since := map[string]Session{}
		for _, s := range old {
			since[s.Peer] = s
		}
		out := append([]Session(nil), now...)
		for i, s := range out {
			o, ok := since[s.Peer]
			if ok && s.Up() && o.Up() && o.Connections == s.Connections {
				out[i].Since = o.Since
			}
		}
		return out
	}
	cur.Fabric = keep(prev.Fabric, cur.Fabric)
	old := map[int]VNI{}
	for _, v := range prev.VNIs {
		old[v.VNI] = v
	}
	cur.VNIs = append([]VNI(nil), cur.VNIs...)
	for i, v := range cur.VNIs {
		cur.VNIs[i].HostSessions = keep(old[v.VNI].HostSessions, v.HostSessions)
	}
	return cur
}

// decode reads one command's JSON. FRR prints nothing, or "{}", for a table it
// does not have (no EVPN configured yet): both mean empty.
func decode(out map[string][]byte, cmd string, v any) error {
	b, ok := out[cmd]
	if !ok {
		return fmt.Errorf("no output of %q", cmd)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("FRR's answer to %q is not the JSON expected: %w (%.200s)", cmd, err, b)
	}
	return nil
}

func first(afs ...*summaryAF) *summaryAF {
	for _, af := range afs {
		if af != nil {
			return af
		}
	}
	return nil
}

func toSessions(af *summaryAF) []Session {
	if af == nil {
		return nil
	}
	var ss []Session
	for peer, p := range af.Peers {
		s := Session{Peer: peer, State: p.State, PrefixesReceived: p.PfxRcd, Connections: p.Conns}
		if p.State == Established && p.EpochSince > 0 {
			s.Since = time.Unix(p.EpochSince, 0).UTC()
		}
		ss = append(ss, s)
	}
	sortSessions(ss)
	return ss
}

func sortSessions(ss []Session) {
	sort.Slice(ss, func(i, j int) bool { return ss[i].Peer < ss[j].Peer })
}

// remoteVTEPs reads CmdRouterMACs: {"VNI": {"numRmacs": N, "MAC": {"vtepIp": ...}}}.
func remoteVTEPs(out map[string][]byte) (map[int][]string, error) {
	var byVNI map[string]map[string]json.RawMessage
	if err := decode(out, CmdRouterMACs, &byVNI); err != nil {
		return nil, err
	}
	vteps := map[int][]string{}
	for key, macs := range byVNI {
		vni, err := strconv.Atoi(key)
		if err != nil {
			continue
		}
		seen := map[string]bool{}
		for _, raw := range macs {
			var m struct {
				VTEP string `json:"vtepIp"`
			}
			// numRmacs is a number, not an object: skip what is not a MAC entry.
			if json.Unmarshal(raw, &m) != nil || m.VTEP == "" || seen[m.VTEP] {
				continue
			}
			seen[m.VTEP] = true
			vteps[vni] = append(vteps[vni], m.VTEP)
		}
		sortAddrs(vteps[vni])
	}
	return vteps, nil
}

// type5ByVNI counts, per VNI, the type-5 prefixes under the VNI's own route
// distinguisher (CmdBGPVNIs gives it) in the EVPN table (CmdType5): the routes
// this router originates.
func type5ByVNI(out map[string][]byte) (map[int]int, error) {
	var bgpVNIs map[string]json.RawMessage
	if err := decode(out, CmdBGPVNIs, &bgpVNIs); err != nil {
		return nil, err
	}
	vniOfRD := map[string]int{}
	for _, raw := range bgpVNIs {
		var v struct {
			VNI  int    `json:"vni"`
			Type string `json:"type"`
			RD   string `json:"rd"`
		}
		if json.Unmarshal(raw, &v) == nil && v.Type == "L3" && v.RD != "" {
			vniOfRD[v.RD] = v.VNI
		}
	}
	var byRD map[string]json.RawMessage
	if err := decode(out, CmdType5, &byRD); err != nil {
		return nil, err
	}
	counts := map[int]int{}
	for rd, raw := range byRD {
		vni, ok := vniOfRD[rd]
		if !ok {
			continue
		}
		var prefixes map[string]json.RawMessage
		if json.Unmarshal(raw, &prefixes) != nil {
			continue
		}
		for key := range prefixes {
			if strings.HasPrefix(key, "[5]:") {
				counts[vni]++
			}
		}
	}
	return counts, nil
}

// sortAddrs orders addresses numerically (10.0.0.9 before 10.0.0.10).
func sortAddrs(as []string) {
	sort.Slice(as, func(i, j int) bool {
		a, errA := netip.ParseAddr(as[i])
		b, errB := netip.ParseAddr(as[j])
		if errA != nil || errB != nil {
			return as[i] < as[j]
		}
		return a.Less(b)
	})
}
