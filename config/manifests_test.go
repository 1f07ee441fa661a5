// Package config holds the kustomize manifests; its tests check that they are
// current, render, and are the Helm chart (charts/frr-k8s-evpn) rendered with
// its defaults.
package config

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// tool finds a helper binary or skips (failing instead under make test).
func tool(t *testing.T, env, path string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		p := v
		if path != "" {
			p = filepath.Join(v, path)
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("EVPN_REQUIRE_ALL_LAYERS") != "" {
		t.Fatalf("%s is not set or lacks %s; run make test", env, path)
	}
	t.Skipf("%s is not set: run make test (it builds the tool)", env)
	return ""
}

// TestCRDsAreCurrent regenerates the CRDs from api/ and fails when the committed
// ones differ: run `make manifests` and commit.
func TestCRDsAreCurrent(t *testing.T) {
	gen := tool(t, "CONTROLLER_GEN", "")
	out := t.TempDir()
	cmd := exec.Command(gen, "crd", "paths=./api/...", "output:crd:artifacts:config="+out)
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("controller-gen: %v\n%s", err, b)
	}
	fresh, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
	// The kustomize tree's and the chart's copies.
	for _, dir := range []string{filepath.Join("crd", "bases"), filepath.Join(chart, "crds")} {
		committed, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if len(fresh) == 0 || len(fresh) != len(committed) {
			t.Fatalf("controller-gen made %d CRDs, %d are committed in %s: run make manifests", len(fresh), len(committed), dir)
		}
		for _, f := range fresh {
			want, _ := os.ReadFile(f)
			got, err := os.ReadFile(filepath.Join(dir, filepath.Base(f)))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s is stale: run make manifests", dir, filepath.Base(f))
			}
		}
	}
}

// TestKustomizeRenders renders config/default, config/samples and config/cleanup with kubectl.
func TestKustomizeRenders(t *testing.T) {
	kubectl := tool(t, "KUBEBUILDER_ASSETS", "kubectl")
	for dir, wantKinds := range map[string][]string{
		"default": {"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "Role", "RoleBinding", "Deployment", "DaemonSet", "ValidatingAdmissionPolicy"},
		"samples": {"Underlay", "L3VNI"},
		"cleanup": {"DaemonSet"},
	} {
		out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl kustomize config/%s: %v\n%s", dir, err, out)
		}
		for _, k := range wantKinds {
			if !strings.Contains(string(out), "\nkind: "+k+"\n") {
				t.Errorf("config/%s renders no %s", dir, k)
			}
		}
	}
}

// TestNodePodsHoldOnlyWhatTheyNeed: no node pod shares the host's PID namespace
// (nothing in them needs it), and the router pod, which talks to no API server,
// carries no service account token.
func TestNodePodsHoldOnlyWhatTheyNeed(t *testing.T) {
	for _, f := range []string{"node/nodeplumber.yaml", "node/router.yaml", "cleanup/cleanup.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---\n") {
			var ds appsv1.DaemonSet
			if err := yaml.Unmarshal([]byte(doc), &ds); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if ds.Kind != "DaemonSet" {
				continue
			}
			spec := ds.Spec.Template.Spec
			if spec.HostPID {
				t.Errorf("%s: DaemonSet %s shares the host's PID namespace", f, ds.Name)
			}
			if f == "node/router.yaml" && (spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken) {
				t.Errorf("%s: the router pod mounts a service account token it never uses", f)
			}
		}
	}
}

// TestImagesAreTheBuiltOnes: every image of ours in the manifests is one that
// hack/build-images.sh builds (make images): quay.io/frr-k8s-evpn/<name> at the
// project's version (VERSION), never a moving tag, and taken as it is on the node
// when there (a cluster without a registry imports the OCI archives).
func TestImagesAreTheBuiltOnes(t *testing.T) {
	v, err := os.ReadFile("../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	version := strings.TrimSpace(string(v))
	built := map[string]bool{"controller": true, "nodeplumber": true, "router": true}
	seen := map[string]bool{}
	for _, f := range []string{"manager/controller.yaml", "node/nodeplumber.yaml", "node/router.yaml", "cleanup/cleanup.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---\n") {
			var d appsv1.Deployment // a DaemonSet's pod template sits at the same path
			if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			spec := d.Spec.Template.Spec
			for _, c := range append(spec.InitContainers, spec.Containers...) {
				name, ok := strings.CutPrefix(c.Image, "quay.io/frr-k8s-evpn/")
				if !ok {
					continue // not ours (the cleanup's pause)
				}
				if want := strings.SplitN(name, ":", 2)[0] + ":" + version; name != want || !built[strings.SplitN(name, ":", 2)[0]] {
					t.Errorf("%s: container %s runs %s, want one of the built images at %s", f, c.Name, c.Image, version)
				}
				if c.ImagePullPolicy != "IfNotPresent" {
					t.Errorf("%s: container %s pulls %q, want IfNotPresent", f, c.Name, c.ImagePullPolicy)
				}
				seen[strings.SplitN(name, ":", 2)[0]] = true
			}
		}
	}
	for n := range built {
		if !seen[n] {
			t.Errorf("no manifest runs the %s image", n)
		}
	}
}

// TestProbesTolerateASlowNode: a kubelet that kills a healthy program is an
// outage we cause (seen in the lab cluster: a loaded node took over 1 s, the
// default timeout, to answer, and the kubelet restarted the plumber and FRR). Every
// probe waits 5 s or more; a liveness probe acts only after a minute of failures,
// behind a startup probe that allows 5 minutes.
func TestProbesTolerateASlowNode(t *testing.T) {
	for _, f := range []string{"manager/controller.yaml", "node/nodeplumber.yaml", "node/router.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(b), "\n---\n") {
			var d appsv1.Deployment // a DaemonSet's pod template sits at the same path
			if err := yaml.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				for kind, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
					if p != nil && p.TimeoutSeconds < 5 {
						t.Errorf("%s: container %s: %s probe times out after %d s, want 5 or more", f, c.Name, kind, p.TimeoutSeconds)
					}
				}
				if p := c.LivenessProbe; p != nil {
					if period := max(p.PeriodSeconds, 10); period*max(p.FailureThreshold, 3) < 60 {
						t.Errorf("%s: container %s: the liveness probe restarts it after %d s of failures, want a minute", f, c.Name, period*max(p.FailureThreshold, 3))
					}
					if s := c.StartupProbe; s == nil || max(s.PeriodSeconds, 10)*max(s.FailureThreshold, 3) < 300 {
						t.Errorf("%s: container %s has a liveness probe without a startup probe allowing 5 minutes", f, c.Name)
					}
				}
			}
		}
	}
}
