#!/usr/bin/env bash
# The end-to-end lab: the seed blog's topology on one machine, driven only by
# kubectl, with the real FRR-K8s, the real MetalLB and Debian's FRR.
#
#   this machine (kernel without VRF)        qemu guest (Debian's kernel, VRF)
#   etcd + kube-apiserver  <-- 10.0.2.2 ---  node1's host netns: our plumber,
#   our controller                            FRR-K8s (daemon, status, its FRR),
#   MetalLB controller and speaker            the router's netns (FRR + reloader),
#                                             leaf, HOST1 and pod netns
#
# The control plane stays on this machine because kube-apiserver under qemu's TCG
# emulation does not even start within envtest's timeouts; everything that touches
# a kernel runs in the guest, where VRFs exist. The guest reaches the API server
# through qemu's user network (10.0.2.2 is this machine's loopback).
#
# Usage: e2e/lab/run.sh   the story, every step asserted (make test-restarts)
# Env: LAB_FIGURES=FILE   where to copy the measured figures (make bench)
#      LAB_KEEP=1         keep the logs folder (always kept when a step fails)
#      LAB_SCRIPT=FILE    run another guest script (experiments) instead of guest.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
start=$(date +%s)
if ! ls -d .cache/k8s-* .cache/lab-* >/dev/null 2>&1; then
  echo "lab: first run on this machine: building kube-apiserver, etcd and kubectl (about 5 min on"
  echo "     2 cores), then FRR-K8s and MetalLB (about 4 min) from the Go module proxy into .cache/"
fi
assets=$(hack/build-k8s.sh)
tools=$(hack/build-lab.sh)
frr=${EVPN_FRR:-$(hack/frr/rootfs.sh)}
hack/vm/setup.sh >/dev/null
work=$(mktemp -d /tmp/evpnlab.XXXXXX)
export PATH="$assets:$PATH" KUBECONFIG=$work/kubeconfig
go build -o "$work/bin/" ./cmd/controller ./cmd/nodeplumber ./cmd/reloader ./hack/apiserver
built=$(date +%s)

pids=()
ok=0
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $ok == 1 && -z ${LAB_KEEP:-} ]]; then rm -rf "$work"; else echo "lab logs: $work" >&2; fi
}
trap cleanup EXIT
waitlog() { # file pattern seconds
  for _ in $(seq $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in $1:" >&2; tail -20 "$1" >&2; return 1
}

KUBEBUILDER_ASSETS=$assets "$work/bin/apiserver" --write-kubeconfig "$KUBECONFIG" \
  --crds config/crd/bases --other-crds "$tools/crds" >"$work/apiserver.log" 2>&1 &
pids+=($!)
waitlog "$work/apiserver.log" READY 120
kubectl apply -f e2e/lab/manifests/cluster.yaml >/dev/null

"$work/bin/controller" --leader-elect=false --metrics-bind-address=0 --health-probe-bind-address=0 \
  >"$work/controller.log" 2>&1 &
pids+=($!)
# MetalLB's metrics ports: random, so that two labs can run side by side.
mport=$((20000 + RANDOM % 20000))
METALLB_BGP_TYPE=frr-k8s "$tools/bin/metallb-controller" --namespace=metallb-system \
  --webhook-mode=disabled --port=$mport >"$work/metallb-controller.log" 2>&1 &
pids+=($!)
# The speaker only writes FRRConfigurations in this mode: it needs no node netns.
METALLB_BGP_TYPE=frr-k8s "$tools/bin/metallb-speaker" --namespace=metallb-system --node-name=node1 \
  --pod-name=speaker-node1 --frrk8s-namespace=frr-k8s-system --port=$((mport + 1)) >"$work/metallb-speaker.log" 2>&1 &
pids+=($!)

# The guest's kubeconfig: same credentials, the API server through qemu's user network.
port=$(kubectl config view -o jsonpath='{.clusters[0].cluster.server}' | sed 's/.*://')
cp "$KUBECONFIG" "$work/guest.kubeconfig"
cluster=$(kubectl config view -o jsonpath='{.clusters[0].name}')
kubectl --kubeconfig "$work/guest.kubeconfig" config set-cluster "$cluster" \
  --server="https://10.0.2.2:$port" --tls-server-name=localhost >/dev/null

{
  echo '#!/bin/bash'
  printf 'export LAB_ROOT=%q LAB_BIN=%q LAB_TOOLS=%q LAB_OUT=%q EVPN_FRR=%q\n' "$root" "$work/bin" "$tools" "$work/out" "$frr"
  printf 'export PATH=%q:$PATH KUBECONFIG=%q\n' "$assets" "$work/guest.kubeconfig"
  printf 'exec %q\n' "${LAB_SCRIPT:-$root/e2e/lab/guest.sh}"
} >"$work/guest-run.sh"
chmod +x "$work/guest-run.sh"
mkdir -p "$work/out"
echo "lab: control plane, controller and MetalLB up on this machine ($((built - start)) s to build, $(($(date +%s) - built)) s to start); booting node1"
rc=0
NET=user MEM=${LAB_MEM:-3072} hack/vm/boot.sh "$work/guest-run.sh" "$work/out" || rc=$?
echo "lab: finished in $(($(date +%s) - start)) s (exit $rc)"
if [[ $rc != 0 ]]; then
  for f in "$work"/controller.log "$work"/metallb-speaker.log; do
    echo "--- last lines of $f" >&2; tail -5 "$f" >&2
  done
  exit "$rc"
fi
[[ -n ${LAB_FIGURES:-} ]] && cp "$work/out/figures.txt" "$LAB_FIGURES"
ok=1
