package frrtemplates

import (
	"fmt"
	"testing"
)

// benchConfig is one node with n VRFs, each with a dual-stack host session.
func benchConfig(n int) Config {
	c := Config{Underlay: seedUnderlay()}
	for i := range n {
		c.VRFs = append(c.VRFs, VRF{
			Name: fmt.Sprintf("vrf%d", i), VNI: uint32(100 + i), ASN: 64512, RouterID: "10.0.0.1",
			ImportRTs: []string{fmt.Sprintf("64512:%d", 100+i)}, ExportRTs: []string{fmt.Sprintf("64512:%d", 100+i)},
			HostNeighbors: []HostNeighbor{
				{Address: fmt.Sprintf("10.%d.%d.2", 100+i/256, i%256), ASN: 64515},
				{Address: fmt.Sprintf("fd00:%x::2", i), ASN: 64515},
			},
		})
	}
	return c
}

func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("vrfs=%d", n), func(b *testing.B) {
			c := benchConfig(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
