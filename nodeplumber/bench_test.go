package nodeplumber

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkKernel measures the plumber's kernel work on n L3VNIs (it needs a VRF:
// make bench runs it in the VM): a full apply from scratch, and for the largest n
// adding one more L3VNI and a no-op reconcile, with their netlink writes. The floor
// is the same devices made by `ip -batch` (one process per namespace) in the same
// VM. Run with -benchtime 1x.
func BenchmarkKernel(b *testing.B) {
	for _, n := range []int{1, 50, 200} {
		b.Run(fmt.Sprintf("l3vnis=%d", n), func(b *testing.B) {
			for range b.N {
				benchKernel(b, n)
			}
		})
	}
}

func benchL3VNIs(n int) []L3VNIState {
	var out []L3VNIState
	for i := range n {
		vni := int32(1000 + i)
		out = append(out, L3VNIState{
			Name: fmt.Sprintf("vrf%d", i), VNI: vni, VRF: fmt.Sprintf("vrf%d", i), Table: TableOffset + uint32(vni),
			Bridge: fmt.Sprintf("br%d", vni), VXLAN: fmt.Sprintf("vx%d", vni), RouterLeg: fmt.Sprintf("pe%d", vni), HostLeg: fmt.Sprintf("hs%d", vni),
			RouterLegAddrs: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.1/24", 100+i/256, i%256))},
			HostLegAddrs:   []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.%d.%d.2/24", 100+i/256, i%256))},
			MTU:            1450,
		})
	}
	return out
}

func benchKernel(b *testing.B, n int) {
	requireVRF(b)
	l := newLab(b)
	s := l.state(benchL3VNIs(n)...)

	start := time.Now()
	if err := l.k.Apply(s); err != nil {
		b.Fatal(err)
	}
	if err := l.k.Finish(s); err != nil {
		b.Fatal(err)
	}
	apply := time.Since(start)
	writes := l.k.Writes()
	b.ReportMetric(float64(apply.Milliseconds()), "ms-apply")
	b.ReportMetric(float64(writes), "writes-apply")

	if n == 200 {
		more := l.state(benchL3VNIs(n + 1)...)
		w0, t0 := l.k.Writes(), time.Now()
		if err := l.k.Apply(more); err != nil {
			b.Fatal(err)
		}
		if err := l.k.Finish(more); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms-add-one")
		b.ReportMetric(float64(l.k.Writes()-w0), "writes-add-one")
		w0, t0 = l.k.Writes(), time.Now()
		if err := l.k.Apply(more); err != nil {
			b.Fatal(err)
		}
		if err := l.k.Finish(more); err != nil {
			b.Fatal(err)
		}
		noop := time.Since(t0)
		b.ReportMetric(float64(noop.Microseconds())/1000, "ms-noop")
		b.ReportMetric(float64(l.k.Writes()-w0), "writes-noop")
	}

	floor := ipBatchFloor(b, n)
	b.ReportMetric(float64(floor.Milliseconds()), "ms-ip-batch")
	b.ReportMetric(apply.Seconds()/floor.Seconds(), "x-floor")
}

// ipBatchFloor builds the same state with iproute2 in batch mode, in a fresh lab:
// IPCommands' lines grouped by namespace into five ip processes (create the
// netns, move the NIC, the router's devices, the host legs, then the router's
// devices up).
func ipBatchFloor(b *testing.B, n int) time.Duration {
	l := newLab(b)
	s := l.state(benchL3VNIs(n)...)
	var phases [5][]string
	afterReload := false
	for _, c := range IPCommands(s, l.host) {
		ns, rest := "", strings.TrimPrefix(c, "ip ")
		if strings.HasPrefix(rest, "-n ") {
			f := strings.SplitN(rest, " ", 3)
			ns, rest = f[1], f[2]
		}
		switch {
		case strings.HasPrefix(c, "#"):
			afterReload = true
		case ns == "":
			phases[0] = append(phases[0], rest)
		case ns == l.host && strings.Contains(rest, " netns "+l.router):
			phases[1] = append(phases[1], rest)
		case ns == l.router && !afterReload:
			phases[2] = append(phases[2], rest)
		case ns == l.host:
			phases[3] = append(phases[3], rest)
		default:
			phases[4] = append(phases[4], rest)
		}
	}
	dir := b.TempDir()
	start := time.Now()
	for i, lines := range phases {
		f := filepath.Join(dir, fmt.Sprintf("batch%d", i))
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		args := []string{"ip", "-batch", f}
		switch i {
		case 1, 3:
			args = []string{"ip", "-n", l.host, "-batch", f}
		case 2, 4:
			args = []string{"ip", "-n", l.router, "-batch", f}
		}
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			b.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	return time.Since(start)
}
