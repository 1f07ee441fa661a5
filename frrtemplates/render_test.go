package frrtemplates

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Values of the seed blog's lab.
func seedUnderlay() Underlay {
	return Underlay{
		ASN: 64512, RouterID: "10.0.0.1", VTEP: "100.65.0.1",
		Neighbors: []Neighbor{{Address: "192.168.11.2", ASN: 64612}},
	}
}

func vrf(name string, vni uint32, hosts ...string) VRF {
	v := VRF{Name: name, VNI: vni, ASN: 64512, RouterID: "10.0.0.1"}
	for _, h := range hosts {
		v.HostNeighbors = append(v.HostNeighbors, HostNeighbor{Address: h, ASN: 64515})
	}
	return v
}

// goldenCases are rendered to testdata/<name>.golden and fed to FRR's parser.
var goldenCases = []struct {
	name string
	cfg  Config
}{
	{"seed_lab", Config{Underlay: seedUnderlay(), VRFs: []VRF{vrf("red", 100, "192.169.10.2")}}},
	{"two_vrfs", Config{Underlay: seedUnderlay(), VRFs: []VRF{
		vrf("green", 200, "192.169.11.2"), // given out of order: output is sorted
		vrf("red", 100, "192.169.10.2"),
	}}},
	{"ipv6_only_host_session", Config{Underlay: seedUnderlay(), VRFs: []VRF{vrf("red", 100, "fd00:10::2")}}},
	{"dual_stack_host_session", Config{Underlay: seedUnderlay(), VRFs: []VRF{vrf("red", 100, "fd00:10::2", "192.169.10.2")}}},
	{"explicit_route_targets", Config{Underlay: seedUnderlay(), VRFs: []VRF{func() VRF {
		v := vrf("red", 100, "192.169.10.2")
		v.RD = "10.0.0.1:100"
		v.ImportRTs = []string{"64512:100", "64512:1000"}
		v.ExportRTs = []string{"64512:100"}
		return v
	}()}}},
	{"bfd_multihop_underlay", Config{Underlay: Underlay{
		ASN: 4200000001, RouterID: "10.0.0.7", VTEP: "100.65.0.7",
		Neighbors: []Neighbor{
			{Address: "192.168.12.2", ASN: 64612, BFD: true, Port: 1179, KeepaliveSeconds: 3, HoldSeconds: 9},
			{Address: "10.255.0.1", ASN: 64600, EBGPMultiHop: true, Password: "s3cr3t!"},
			{Address: "fd00:ff::1", ASN: 64600, BFD: true},
		},
	}, VRFs: []VRF{vrf("red", 100, "192.169.10.8")}}},
	{"underlay_only", Config{Underlay: seedUnderlay()}},
	{"no_underlay", Config{}},
}

func TestGolden(t *testing.T) {
	for _, tt := range goldenCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Render(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./frrtemplates -update)", err)
			}
			if got != string(want) {
				t.Errorf("rendered config differs from %s (run with -update if intended):\n%s", path, diff(string(want), got))
			}
			checkLines(t, tt.cfg, got)
		})
	}
}

// TestGoldenFilesParseInFRR feeds every golden file to FRR's own parser.
func TestGoldenFilesParseInFRR(t *testing.T) {
	frrinstance.Require(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if len(files) != len(goldenCases) {
		t.Fatalf("%d golden files for %d cases", len(files), len(goldenCases))
	}
	for _, f := range files {
		conf, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := frrinstance.Parse(t, string(conf))
		if err != nil || len(strings.TrimSpace(out)) > 0 {
			t.Errorf("FRR rejects %s: %v\n%s", f, err, out)
		}
	}
	// And the check can fail: a line FRR does not know is reported.
	if _, err := frrinstance.Parse(t, "router bgp 1\n neighbor 192.0.2.1 no-such-option\nexit\n"); err == nil {
		t.Error("vtysh --dryrun accepted an unknown command: the parser check proves nothing")
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"newline in a VRF name", func(c *Config) { c.VRFs[0].Name = "red\nrouter bgp 1" }, "VRF"},
		{"VRF name too long", func(c *Config) { c.VRFs[0].Name = "abcdefghijklmnop" }, "1-15"},
		{"space in a password", func(c *Config) { c.Underlay.Neighbors[0].Password = "a b" }, "password"},
		{"newline in a route target", func(c *Config) { c.VRFs[0].ImportRTs = []string{"1:1\nexit"} }, "route target"},
		{"hostname instead of address", func(c *Config) { c.Underlay.Neighbors[0].Address = "leaf1" }, "not an IP address"},
		{"IPv6 router ID", func(c *Config) { c.Underlay.RouterID = "fd00::1" }, "IPv4"},
		{"VNI above 24 bits", func(c *Config) { c.VRFs[0].VNI = 1 << 24 }, "VNI"},
		{"same VNI twice", func(c *Config) { c.VRFs = append(c.VRFs, vrf("green", 100, "192.169.11.2")) }, "used twice"},
		{"VRF without host neighbor", func(c *Config) { c.VRFs[0].HostNeighbors = nil }, "no host neighbor"},
		{"L3VNI without underlay", func(c *Config) { c.Underlay = Underlay{} }, "ASN must not be 0"},
		{"hold below keepalive", func(c *Config) {
			c.Underlay.Neighbors[0].KeepaliveSeconds, c.Underlay.Neighbors[0].HoldSeconds = 60, 30
		}, "hold time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Underlay: seedUnderlay(), VRFs: []VRF{vrf("red", 100, "192.169.10.2")}}
			tt.edit(&c)
			if _, err := Render(c); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRenderDoesNotModifyItsInput(t *testing.T) {
	c := Config{Underlay: seedUnderlay(), VRFs: []VRF{vrf("red", 100, "192.169.10.2"), vrf("blue", 200, "192.169.11.2")}}
	if _, err := Render(c); err != nil {
		t.Fatal(err)
	}
	if c.VRFs[0].Name != "red" {
		t.Error("Render sorted the caller's slice")
	}
}

// diff shows the first differing line with some context.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return ""
}
