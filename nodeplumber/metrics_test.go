package nodeplumber

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/frr-k8s-evpn/frr-k8s-evpn/frrstate"
)

// TestDashboardMetricsAreRegistered: every plumber and router metric the Grafana
// dashboard queries is in the registry the plumber serves, once one live read is
// recorded (the lab scrapes them from a running plumber too).
func TestDashboardMetricsAreRegistered(t *testing.T) {
	recordLive(&Live{Router: frrstate.Router{
		Fabric: []frrstate.Session{{Peer: "192.168.11.2", State: "Established"}},
		VNIs:   []frrstate.VNI{{VNI: 100, VRF: "red", State: "Up", HostSessions: []frrstate.Session{{Peer: "192.169.10.2", State: "Active"}}}},
	}})
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range families {
		served[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			served[f.GetName()+"_bucket"] = true
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "config", "prometheus", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`frr_k8s_evpn_(plumber|router)_[a-z0-9_]+`).FindAllString(string(b), -1) {
		if !served[m] {
			t.Errorf("the dashboard queries %s, which the plumber does not serve", m)
		}
	}
	if !strings.Contains(string(b), "frr_k8s_evpn_router_") {
		t.Error("the dashboard queries no router metric")
	}
}
