package frrreload

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/e2e/frrinstance"
)

// BenchmarkReload measures the reloader on the pinned FRR for routers of 1, 50
// and 200 VRFs: "full" flips one route target in every VRF (frr-reload.py reads
// and diffs the whole configuration), "add" and "remove" add or remove one L3VNI
// (its two stanzas, without frr-reload.py), "no-op" posts the running
// configuration again. Where the kernel lacks VRF (this host), FRR keeps the
// BGP instances inactive, so the figures cover FRR's configuration work, not
// session setup; make bench runs it in the VM too.
func BenchmarkReload(b *testing.B) {
	for _, n := range []int{1, 50, 200} {
		b.Run(fmt.Sprintf("vrfs=%d", n), func(b *testing.B) {
			router := frrinstance.Start(b, "bench")
			dir := b.TempDir()
			r := &Reloader{LastGood: filepath.Join(dir, "last.conf"), WorkDir: dir, VtySocket: router.Dir, Log: logr.Discard()}
			ctx := context.Background()
			apply := func(config string) {
				if _, err := r.Apply(ctx, []byte(config)); err != nil {
					b.Fatal(err)
				}
			}
			base, other, more := routerConfig(b, n, "64512:1"), routerConfig(b, n, "64512:2"), routerConfig(b, n+1, "64512:1")
			apply(base)
			// each runs one timed step, with what sets it up untimed
			for _, step := range []struct {
				name          string
				before, timed string
			}{
				{"full", other, base},
				{"add", base, more},
				{"remove", more, base},
				{"no-op", base, base},
			} {
				b.Run(step.name, func(b *testing.B) {
					for range b.N {
						b.StopTimer()
						apply(step.before)
						b.StartTimer()
						apply(step.timed)
					}
				})
			}
		})
	}
}
