#!/usr/bin/env bash
# Builds Kubernetes from Go modules (hack/k8stools/go.mod) into a cache folder keyed
# by version, and prints that folder. Only the first run on a machine pays for the
# build; later runs return at once.
#   hack/build-k8s.sh         kube-apiserver, kubectl and etcd: envtest's
#                             KUBEBUILDER_ASSETS and the lab's API server (~5 min on 2 cores)
#   hack/build-k8s.sh node    kubelet, kube-proxy, kube-scheduler and kube-controller-manager:
#                             the lab's real cluster (~4 min more)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ver=v1.37.2
etcd=v3.7.0
ldf="-s -w -X k8s.io/component-base/version.gitVersion=$ver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
if [[ ${1:-} == node ]]; then
  out=$root/.cache/k8s-node-$ver
  cmds=(kubelet kube-proxy kube-scheduler kube-controller-manager)
  with_etcd=
else
  out=${1:-$root/.cache/k8s-$ver-etcd-$etcd}
  cmds=(kube-apiserver kubectl)
  with_etcd=1
fi
done=1
for c in "${cmds[@]}"; do [[ -x $out/$c ]] || done=; done
[[ -n $with_etcd && ! -x $out/etcd ]] && done=
if [[ -n $done ]]; then
  echo "$out"
  exit 0
fi
mkdir -p "$out.tmp"
cd "$root/hack/k8stools"
go build -ldflags "$ldf" -o "$out.tmp/" "${cmds[@]/#/k8s.io/kubernetes/cmd/}" >&2
[[ -n $with_etcd ]] && go build -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3 >&2
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out"
