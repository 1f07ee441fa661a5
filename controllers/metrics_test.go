package controllers

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// dashboardMetrics are the metric names the Grafana dashboard's queries use
// (a histogram's _bucket series by that name).
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "config", "prometheus", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(frr_k8s_evpn_[a-z0-9_]+|controller_runtime_[a-z0-9_]+)`).FindAllString(string(b), -1) {
		seen[m] = true
	}
	var out []string
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// scrape reads a Prometheus text exposition: each series (name{labels}) with
// its value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("not a sample: %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// hasSeries says whether a scrape holds a series of that metric name.
func hasSeries(samples map[string]float64, name string) bool {
	for s := range samples {
		if s == name || strings.HasPrefix(s, name+"{") {
			return true
		}
	}
	return false
}

// TestMetricsEndpoint scrapes the running controller's metrics endpoint: every
// controller metric the Grafana dashboard queries is served, and the figures
// follow the objects (one L3VNI accepted, its FRRConfiguration created once).
func TestMetricsEndpoint(t *testing.T) {
	requireAPI(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ns, frrNS := newNamespaces(t)
	startControllerOn(t, testCfg, ns, frrNS, func(o *ManagerOptions) { o.MetricsAddr = addr })
	createNodes(t, "metrics", 1)
	create(t, underlay(ns, "fabric", "metrics"), l3vni(ns, "red", "metrics", seedVNI, seedLocalCIDR))

	url := "http://" + addr + "/metrics"
	accepted := `frr_k8s_evpn_objects{condition="Accepted",kind="L3VNI",reason="Accepted",status="True"}`
	created := `frr_k8s_evpn_controller_writes_total{kind="FRRConfiguration",op="create"}`
	var samples map[string]float64
	eventually(t, timeout, func() error {
		samples = scrape(t, url)
		if samples[accepted] != 1 || samples[created] < 1 {
			return fmt.Errorf("%s = %v, %s = %v", accepted, samples[accepted], created, samples[created])
		}
		return nil
	})
	for _, m := range dashboardMetrics(t) {
		if strings.HasPrefix(m, "frr_k8s_evpn_plumber_") || strings.HasPrefix(m, "frr_k8s_evpn_router_") {
			continue // the plumber's: the lab scrapes them from each node
		}
		if !hasSeries(samples, m) {
			t.Errorf("the dashboard queries %s, which the controller does not serve", m)
		}
	}
}
