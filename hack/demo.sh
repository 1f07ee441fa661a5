#!/usr/bin/env bash
# The project's main job on its embedded default: a local API server, the real
# controller binary, the seed lab's samples applied with kubectl, and the
# FRRConfiguration that FRR-K8s would receive. Prints the story as a user sees it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
assets=$(hack/build-k8s.sh)
export PATH="$assets:$PATH"
work=$(mktemp -d)
export KUBECONFIG=$work/kubeconfig
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

go build -o "$work/bin/" ./cmd/controller ./hack/apiserver
say "A local control plane: etcd + kube-apiserver $(kube-apiserver --version | cut -d' ' -f2), built from Go modules"
KUBEBUILDER_ASSETS=$assets "$work/bin/apiserver" --write-kubeconfig "$KUBECONFIG" >"$work/apiserver.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do grep -q READY "$work/apiserver.log" && break; sleep 0.1; done
grep -q READY "$work/apiserver.log" || { cat "$work/apiserver.log"; exit 1; }
kubectl create namespace frr-k8s-evpn-system >/dev/null
kubectl create namespace frr-k8s-system >/dev/null
for n in node-a node-b; do
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata: {name: $n, labels: {kubernetes.io/hostname: $n}}
YAML
done
echo "namespaces frr-k8s-evpn-system and frr-k8s-system, Nodes node-a and node-b"

say "The controller starts and gives every node a stable index"
"$work/bin/controller" --kubeconfig "$KUBECONFIG" --leader-elect=false --metrics-bind-address=0 --health-probe-bind-address=0 >"$work/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  [[ $(kubectl get nodes -o jsonpath='{.items[*].metadata.annotations.evpn\.frrk8s\.dev/node-index}' | wc -w) == 2 ]] && break
  sleep 0.1
done
run kubectl get nodes -o custom-columns='NAME:.metadata.name,INDEX:.metadata.annotations.evpn\.frrk8s\.dev/node-index'

say "The user applies the seed lab's Underlay and L3VNI"
run kubectl apply -f config/samples/underlay.yaml -f config/samples/l3vni.yaml
kubectl wait -n frr-k8s-evpn-system --for=condition=Accepted l3vni/red --timeout=30s >/dev/null
run kubectl get underlays,l3vnis -n frr-k8s-evpn-system

say "The FRRConfiguration that FRR-K8s on every selected node now merges"
run kubectl get frrconfigurations -n frr-k8s-system
printf '$ kubectl get frrconfiguration -n frr-k8s-system evpn-frr-k8s-evpn-system-red -o yaml  (spec)\n'
kubectl get frrconfiguration -n frr-k8s-system evpn-frr-k8s-evpn-system-red -o yaml | sed -n '/^spec:/,$p'

say "A second L3VNI reusing VNI 100 is rejected; the first keeps working"
cat >"$work/blue.yaml" <<'YAML'
apiVersion: evpn.frrk8s.dev/v1alpha1
kind: L3VNI
metadata: {name: blue, namespace: frr-k8s-evpn-system}
spec:
  vni: 100
  hostSession: {hostASN: 64515, localCIDR: {ipv4: 192.169.20.0/24}}
YAML
run kubectl apply -f "$work/blue.yaml"
kubectl wait -n frr-k8s-evpn-system --for=condition=Accepted=false l3vni/blue --timeout=30s >/dev/null
run kubectl get l3vnis -n frr-k8s-evpn-system
run kubectl get l3vni blue -n frr-k8s-evpn-system -o jsonpath='{.status.conditions[?(@.type=="Accepted")].message}{"\n"}'

say "Bad input is stopped by the API server itself"
printf '$ kubectl apply -f - <<< "...vni: 0, localCIDR 192.169.30.1/24..."\n'
kubectl apply -f - <<'YAML' 2>&1 | sed 's/^/  /' || true
apiVersion: evpn.frrk8s.dev/v1alpha1
kind: L3VNI
metadata: {name: bad, namespace: frr-k8s-evpn-system}
spec:
  vni: 0
  hostSession: {hostASN: 64515, localCIDR: {ipv4: 192.169.30.1/24}}
YAML

say "Deleting red removes its FRRConfiguration; blue, no longer in conflict, is accepted"
run kubectl delete l3vni red -n frr-k8s-evpn-system
kubectl wait -n frr-k8s-evpn-system --for=condition=Accepted l3vni/blue --timeout=30s >/dev/null
run kubectl get l3vnis -n frr-k8s-evpn-system
run kubectl get frrconfigurations -n frr-k8s-system
echo
echo "Done. Not yet in this demo: the node plumber, the router's FRR and the EVPN fabric (see the open issues)."
