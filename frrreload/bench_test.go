package frrreload

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrtemplates"
)

// BenchmarkReload measures one reload through the Reloader (parser check +
// frr-reload.py) on Debian's FRR, for configs with 1 and 50 VRF stanzas. Each
// iteration flips one route target, so every reload has a real change to apply.
// The VRFs have no kernel device here (this host's kernel lacks VRF): FRR keeps
// their BGP instances inactive, so the figure covers parsing and diffing, not
// session setup.
func BenchmarkReload(b *testing.B) {
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("vrfs=%d", n), func(b *testing.B) {
			router := frrinstance.Start(b, "bench")
			dir := b.TempDir()
			r := &Reloader{LastGood: filepath.Join(dir, "last.conf"), WorkDir: dir, VtySocket: router.Dir, Log: logr.Discard()}
			configs := [2]string{render(b, n, "64512:1"), render(b, n, "64512:2")}
			ctx := context.Background()
			if _, err := r.Apply(ctx, []byte(configs[1])); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				if _, err := r.Apply(ctx, []byte(configs[i%2])); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func render(b *testing.B, n int, rt string) string {
	c := frrtemplates.Config{Underlay: frrtemplates.Underlay{ASN: 64512, RouterID: "10.0.0.1", VTEP: "100.65.0.1",
		Neighbors: []frrtemplates.Neighbor{{Address: "192.168.11.2", ASN: 64612}}}}
	for i := range n {
		c.VRFs = append(c.VRFs, frrtemplates.VRF{Name: fmt.Sprintf("vrf%d", i), VNI: uint32(100 + i), ASN: 64512, RouterID: "10.0.0.1",
			ImportRTs:     []string{rt},
			HostNeighbors: []frrtemplates.HostNeighbor{{Address: fmt.Sprintf("10.%d.%d.2", 100+i/256, i%256), ASN: 64515}}})
	}
	s, err := frrtemplates.Render(c)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
