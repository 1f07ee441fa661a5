package frrtemplates

import (
	"regexp"
	"strings"
	"testing"
)

// Every line the templates can produce, with each field limited to what its
// validation allows. A rendered line matching none of them is a line the templates
// did not intend: an injection.
var intendedLines = func() []*regexp.Regexp {
	const (
		name = `[A-Za-z0-9][A-Za-z0-9_.-]{0,14}`
		addr = `[0-9a-f.:]+`
		ip4  = `[0-9]{1,3}(\.[0-9]{1,3}){3}`
		num  = `[0-9]+`
		rt   = `([0-9]{1,10}|` + ip4 + `):[0-9]{1,10}`
	)
	var out []*regexp.Regexp
	for _, l := range []string{
		`frr defaults datacenter`, `log stdout informational`, `bgp graceful-restart`, `bgp graceful-restart preserve-fw-state`, `!`, ` !`, `exit`, `exit-vrf`,
		`vrf ` + name, ` vni ` + num,
		`router bgp ` + num, `router bgp ` + num + ` vrf ` + name,
		` bgp router-id ` + ip4, ` no bgp ebgp-requires-policy`, ` no bgp default ipv4-unicast`, ` no bgp network import-check`,
		` neighbor ` + addr + ` remote-as ` + num, ` neighbor ` + addr + ` port ` + num,
		` neighbor ` + addr + ` timers ` + num + ` ` + num, ` neighbor ` + addr + ` bfd`,
		` neighbor ` + addr + ` ebgp-multihop`, ` neighbor ` + addr + ` password [!-~]{1,80}`,
		` address-family (ipv4|ipv6) unicast`, ` address-family l2vpn evpn`, ` exit-address-family`,
		`  network ` + ip4 + `/32`, `  network ` + addr + `/128`, `  neighbor ` + addr + ` activate`, `  neighbor ` + addr + ` allowas-in origin`, `  neighbor ` + addr + ` allowas-in 1`, `  neighbor ` + addr + ` as-override`,
		`  neighbor ` + addr + ` route-map allowall (in|out)`, `  advertise-all-vni`, `  advertise (ipv4|ipv6) unicast`,
		`  rd ` + rt, `  route-target (import|export) ` + rt,
		`route-map allowall permit 1`,
	} {
		out = append(out, regexp.MustCompile(`^`+l+`$`))
	}
	return out
}()

// checkLines fails when the output has a line no template intends, or a number of
// stanzas other than the input's.
func checkLines(t testing.TB, cfg Config, out string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end with a newline")
	}
	routers, vrfs := 0, 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		ok := false
		for _, re := range intendedLines {
			if re.MatchString(line) {
				ok = true
				break
			}
		}
		if !ok {
			t.Fatalf("unintended line %q in:\n%s", line, out)
		}
		if strings.HasPrefix(line, "router bgp ") {
			routers++
		}
		if strings.HasPrefix(line, "vrf ") {
			vrfs++
		}
	}
	wantRouters := 1 + len(cfg.VRFs)
	if cfg.Underlay.ASN == 0 {
		wantRouters = 0 // no Underlay: no BGP
	}
	if routers != wantRouters || vrfs != len(cfg.VRFs) {
		t.Fatalf("%d router stanzas and %d vrf stanzas for %d VRFs:\n%s", routers, vrfs, len(cfg.VRFs), out)
	}
}

// FuzzRender puts arbitrary strings into every free-text field: either Render
// refuses them, or every line it emits is an intended one.
func FuzzRender(f *testing.F) {
	f.Add("red", "192.169.10.2", "64512:100", "10.0.0.1:100", "s3cret", "192.168.11.2")
	f.Add("red\nrouter bgp 1", "192.169.10.2", "64512:100", "", "", "192.168.11.2")
	f.Add("red", "192.169.10.2\n", "1:1\nexit", "1:1 ", "pass word", "fd00::1%eth0")
	f.Add("a.b-c_d", "fd00:10::2", "1.2.3.4:5", "65535:65535", "!\"#$%&'()*+,-./", "::ffff:1.2.3.4")
	f.Fuzz(func(t *testing.T, vrfName, hostAddr, routeTarget, rd, pass, neighbor string) {
		cfg := Config{
			Underlay: Underlay{ASN: 64512, RouterID: "10.0.0.1", VTEP: "100.65.0.1",
				Neighbors: []Neighbor{{Address: neighbor, ASN: 64612, Password: pass}}},
			VRFs: []VRF{{Name: vrfName, VNI: 100, ASN: 64512, RouterID: "10.0.0.1", RD: rd,
				ImportRTs: []string{routeTarget}, ExportRTs: []string{routeTarget},
				HostNeighbors: []HostNeighbor{{Address: hostAddr, ASN: 64515}}}},
		}
		out, err := Render(cfg)
		if err != nil {
			return
		}
		checkLines(t, cfg, out)
	})
}
