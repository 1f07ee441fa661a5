package build

import (
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestLivenessOutlastsWatchfrrRestart: the kubelet must not restart the frr
// container while watchfrr is still allowed to restart all of FRR (router-start's
// -T): it would kill what watchfrr is starting, and a starved node never gets FRR
// back (seen in the lab: a restart of all took 140 s, the probe gave it 60 s).
func TestLivenessOutlastsWatchfrrRestart(t *testing.T) {
	start, err := os.ReadFile("router-start")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`watchfrr_options="[^"]*-T (\d+)`).FindSubmatch(start)
	if m == nil {
		t.Fatal("router-start: no watchfrr -T found")
	}
	restart, _ := strconv.Atoi(string(m[1]))
	chart, err := os.ReadFile("../charts/frr-k8s-evpn/templates/node/router.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := regexp.MustCompile(`livenessProbe:\s+exec:\s+command: \[router-alive\]\s+periodSeconds: (\d+)\s+timeoutSeconds: (\d+)\s+failureThreshold: (\d+)`).FindSubmatch(chart)
	if p == nil {
		t.Fatal("chart: the frr container's livenessProbe (router-alive) not found")
	}
	period, _ := strconv.Atoi(string(p[1]))
	threshold, _ := strconv.Atoi(string(p[3]))
	if window := period * threshold; window <= restart {
		t.Errorf("the frr container's liveness window is %d s (%d x %d s), watchfrr may take %d s to restart FRR: the kubelet would kill a restart under way", window, threshold, period, restart)
	}
}
