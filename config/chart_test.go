package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const chart = "../charts/frr-k8s-evpn"

// TestChartLints runs helm lint --strict on the chart, with its defaults and
// with every value set to something else.
func TestChartLints(t *testing.T) {
	helm := tool(t, "HELM", "")
	for name, args := range map[string][]string{
		"defaults": nil,
		"custom":   {"--values", "testdata/custom-values.yaml"},
	} {
		out, err := exec.Command(helm, append([]string{"lint", "--strict", chart}, args...)...).CombinedOutput()
		if err != nil {
			t.Errorf("helm lint (%s): %v\n%s", name, err, out)
		}
	}
}

// TestConfigIsTheRenderedChart: the kustomize tree's workloads, RBAC and
// policies are the chart rendered with its defaults (hack/render-chart.sh), so
// a kustomize user and a Helm user install the same thing. Edit the chart and
// run make manifests.
func TestConfigIsTheRenderedChart(t *testing.T) {
	tool(t, "HELM", "")
	out := t.TempDir()
	if b, err := exec.Command("../hack/render-chart.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("hack/render-chart.sh: %v\n%s", err, b)
	}
	n := 0
	err := filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(rel)
		if err != nil || string(got) != string(want) {
			t.Errorf("config/%s is not the rendered chart: run make manifests", rel)
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("rendered %d files: %v", n, err)
	}
}

// TestChartVersionIsTheProjects: the chart's version and appVersion (the
// default image tag) are the project's version, the tag make images builds.
func TestChartVersionIsTheProjects(t *testing.T) {
	v, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Version, AppVersion string }
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(v)); c.Version != want || c.AppVersion != want {
		t.Errorf("Chart.yaml: version %q, appVersion %q; VERSION says %q", c.Version, c.AppVersion, want)
	}
}

// TestChartValues renders the chart with non-default values and checks that
// each one reaches every object it is for.
func TestChartValues(t *testing.T) {
	helm := tool(t, "HELM", "")
	out, err := exec.Command(helm, "template", "evpn", chart, "--namespace", "net-evpn",
		"--values", "testdata/custom-values.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	pods := map[string]corev1.PodSpec{}
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var obj struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
			Subjects []struct{ Namespace string }
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		switch {
		case obj.Kind == "" || strings.HasPrefix(obj.Kind, "Cluster") || strings.HasPrefix(obj.Kind, "ValidatingAdmission"):
		case obj.Kind == "Role" || obj.Kind == "RoleBinding":
			if ns := obj.Metadata.Namespace; ns != "net-evpn" && ns != "frr-system" {
				t.Errorf("%s %s is in namespace %q, want net-evpn or frrk8s.namespace frr-system", obj.Kind, obj.Metadata.Name, ns)
			}
		default:
			if obj.Metadata.Namespace != "net-evpn" {
				t.Errorf("%s %s is in namespace %q, want the release's net-evpn", obj.Kind, obj.Metadata.Name, obj.Metadata.Namespace)
			}
		}
		for _, s := range obj.Subjects {
			if s.Namespace != "" && s.Namespace != "net-evpn" {
				t.Errorf("%s %s binds a subject in %q, want net-evpn", obj.Kind, obj.Metadata.Name, s.Namespace)
			}
		}
		if obj.Kind == "Deployment" || obj.Kind == "DaemonSet" {
			var d appsv1.Deployment // a DaemonSet's pod template sits at the same path
			if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatal(err)
			}
			pods[obj.Metadata.Name] = d.Spec.Template.Spec
		}
	}

	for name, pod := range pods {
		if len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "regcred" {
			t.Errorf("%s: pull secrets %v, want regcred", name, pod.ImagePullSecrets)
		}
		for _, c := range append(pod.InitContainers, pod.Containers...) {
			if !strings.HasPrefix(c.Image, "registry.example.com/evpn/") || !strings.HasSuffix(c.Image, ":0.1.0-rc1") || c.ImagePullPolicy != "Always" {
				t.Errorf("%s/%s: image %s pulled %s, want registry.example.com/evpn/*:0.1.0-rc1, Always", name, c.Name, c.Image, c.ImagePullPolicy)
			}
		}
	}
	nodeSide := []string{"frr-k8s-evpn-nodeplumber", "frr-k8s-evpn-router"}
	for _, name := range append(nodeSide, "frr-k8s-evpn-controller") {
		pod, ok := pods[name]
		if !ok {
			t.Fatalf("no workload %s", name)
		}
		wantSel, wantTol := "infra", "evpn"
		if name == "frr-k8s-evpn-controller" {
			wantSel, wantTol = "control", "control"
		}
		if pod.NodeSelector["role"] != wantSel || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != wantTol {
			t.Errorf("%s: nodeSelector %v, tolerations %v; want role=%s and a toleration of %s", name, pod.NodeSelector, pod.Tolerations, wantSel, wantTol)
		}
	}

	ctrl := pods["frr-k8s-evpn-controller"].Containers[0]
	for _, a := range []string{"--namespace=net-evpn", "--frrk8s-namespace=frr-system", "--metrics-bind-address=:9100"} {
		if !slices.Contains(ctrl.Args, a) {
			t.Errorf("controller args %v lack %s", ctrl.Args, a)
		}
	}
	if !slices.ContainsFunc(ctrl.Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" && p.ContainerPort == 9100 }) {
		t.Errorf("controller ports %v: want metrics on 9100", ctrl.Ports)
	}
	if a := pods["frr-k8s-evpn-controller"].Affinity; a == nil || a.PodAntiAffinity != nil || a.NodeAffinity == nil ||
		a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key != "zone" {
		t.Errorf("controller affinity %+v: want controller.affinity (zone) in place of the default spreading", a)
	}
	if got := ctrl.Resources.Limits.Memory().String(); got != "512Mi" {
		t.Errorf("controller memory limit %s, want 512Mi", got)
	}
	plumber := pods["frr-k8s-evpn-nodeplumber"].Containers[0]
	for _, a := range []string{"--namespace=net-evpn", "--netns=evpnr", "--metrics-bind-address=:9101"} {
		if !slices.Contains(plumber.Args, a) {
			t.Errorf("plumber args %v lack %s", plumber.Args, a)
		}
	}
	router := pods["frr-k8s-evpn-router"]
	if !strings.Contains(strings.Join(router.InitContainers[0].Command, " "), "/run/netns/evpnr ]") {
		t.Errorf("the router waits for %v, want the netns evpnr", router.InitContainers[0].Command)
	}
	if !slices.Contains(router.Containers[0].Env, corev1.EnvVar{Name: "ROUTER_NETNS", Value: "/run/netns/evpnr"}) {
		t.Errorf("the router's FRR starts in %v, want ROUTER_NETNS=/run/netns/evpnr", router.Containers[0].Env)
	}
	if got := router.Containers[0].Resources.Requests.Memory().String(); got != "1Gi" {
		t.Errorf("the router's FRR requests %s memory, want 1Gi", got)
	}
}

// TestChartWithoutControllerMetrics: metricsBindAddress "0" turns the endpoint
// off, and the container then declares no metrics port.
func TestChartWithoutControllerMetrics(t *testing.T) {
	helm := tool(t, "HELM", "")
	out, err := exec.Command(helm, "template", "evpn", chart, "--set", "controller.metricsBindAddress=0",
		"--show-only", "templates/manager/controller.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	var d appsv1.Deployment
	if err := yaml.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--metrics-bind-address=0") || slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" }) {
		t.Errorf("args %v, ports %v: want metrics off and no metrics port", c.Args, c.Ports)
	}
}

// TestChartSpreadsControllerReplicas: by default the controller's replicas
// prefer different nodes, so that the node of the leader going away leaves a
// replica running elsewhere (the drain in the two-node lab).
func TestChartSpreadsControllerReplicas(t *testing.T) {
	helm := tool(t, "HELM", "")
	out, err := exec.Command(helm, "template", "evpn", chart, "--show-only", "templates/manager/controller.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	var d appsv1.Deployment
	if err := yaml.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	a := d.Spec.Template.Spec.Affinity
	if a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Fatalf("affinity %+v: want one preferred pod anti-affinity term", a)
	}
	term := a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		t.Fatal(err)
	}
	if term.TopologyKey != "kubernetes.io/hostname" || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("anti-affinity term %+v: want other nodes (kubernetes.io/hostname) than the controller's own pods %v", term, d.Spec.Template.Labels)
	}
}
