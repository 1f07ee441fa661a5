package frrstate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fileOf is where a command's captured output is kept in testdata/CASE/.
func fileOf(cmd string) string { return strings.ReplaceAll(cmd, " ", "_") + ".json" }

func load(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, c := range Commands {
		b, err := os.ReadFile(filepath.Join("testdata", dir, fileOf(c)))
		if err != nil {
			t.Fatal(err)
		}
		out[c] = b
	}
	return out
}

// TestParse reads outputs of FRR 10.7.1. lab-host-down was captured from the
// lab's router (one L3VNI red, VNI 100) after its FRR restarted, before
// FRR-K8s's session came back: the fabric session is up and the leaf's
// 192.168.10.0/24 (VTEP 100.64.0.1) imported, nothing is advertised as the host
// leg is down. no-evpn is a router with one fabric neighbor that never came up
// and no EVPN configured. (The VM test reads an FRR whose VRFs advertise.)
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		want Router
	}{
		{"lab-host-down", Router{
			Fabric: []Session{{Peer: "192.168.11.2", State: "Established", Since: time.Unix(1796590873, 0).UTC(), PrefixesReceived: 1, Connections: 1}},
			VNIs: []VNI{{VNI: 100, VRF: "red", State: "Up", RouterMAC: "5e:3d:ff:e6:14:a7",
				RemoteVTEPs: []string{"100.64.0.1"}, Type5Advertised: 0, Type5Received: 1,
				HostSessions: []Session{{Peer: "192.169.10.2", State: "Active"}}}},
		}},
		{"no-evpn", Router{Fabric: []Session{{Peer: "10.99.0.2", State: "Idle"}}}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			got, err := Parse(load(t, tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseRefusesWhatIsNotJSON(t *testing.T) {
	out := load(t, "no-evpn")
	out[CmdVNIs] = []byte("% Unknown command: show vrf vni json\n")
	if _, err := Parse(out); err == nil || !strings.Contains(err.Error(), CmdVNIs) {
		t.Errorf("Parse = %v; want an error naming %q", err, CmdVNIs)
	}
}

func TestSteady(t *testing.T) {
	t0, t1 := time.Unix(1000, 0).UTC(), time.Unix(1001, 0).UTC()
	sess := func(state string, since time.Time, conns int) []Session {
		return []Session{{Peer: "p", State: state, Since: since, Connections: conns}}
	}
	for _, tc := range []struct {
		name      string
		prev, cur []Session
		wantSince time.Time
	}{
		{"same connection, a second of rounding", sess("Established", t0, 1), sess("Established", t1, 1), t0},
		{"reconnected", sess("Established", t0, 1), sess("Established", t1, 2), t1},
		{"was down", sess("Active", time.Time{}, 1), sess("Established", t1, 2), t1},
		{"went down", sess("Established", t0, 1), sess("Active", time.Time{}, 1), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := Router{Fabric: tc.prev, VNIs: []VNI{{VNI: 1, HostSessions: tc.prev}}}
			cur := Router{Fabric: tc.cur, VNIs: []VNI{{VNI: 1, HostSessions: tc.cur}}}
			got := Steady(prev, cur)
			if !got.Fabric[0].Since.Equal(tc.wantSince) || !got.VNIs[0].HostSessions[0].Since.Equal(tc.wantSince) {
				t.Errorf("since = %v / %v; want %v", got.Fabric[0].Since, got.VNIs[0].HostSessions[0].Since, tc.wantSince)
			}
			if !cur.Fabric[0].Since.Equal(tc.cur[0].Since) {
				t.Error("Steady changed its argument")
			}
		})
	}
}

// BenchmarkParse parses one read of the lab's router (one L3VNI), the work the
// plumber's live-state read adds to vtysh's every interval; the floor is
// checking that the same bytes are JSON at all.
func BenchmarkParse(b *testing.B) {
	out := map[string][]byte{}
	for _, c := range Commands {
		data, err := os.ReadFile(filepath.Join("testdata", "lab-host-down", fileOf(c)))
		if err != nil {
			b.Fatal(err)
		}
		out[c] = data
	}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor-json-valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, data := range out {
				if !json.Valid(data) {
					b.Fatal("not JSON")
				}
			}
		}
	})
}
