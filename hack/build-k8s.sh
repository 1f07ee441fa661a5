#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from Go modules (hack/k8stools/go.mod) into a
# cache folder keyed by version, for envtest (KUBEBUILDER_ASSETS) and the lab. Only the
# first run on a machine pays for the build (~5 min on 2 cores); later runs return at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ver=v1.37.2
etcd=v3.7.0
out=${1:-$root/.cache/k8s-$ver-etcd-$etcd}
if [[ -x $out/kube-apiserver && -x $out/kubectl && -x $out/etcd ]]; then
  echo "$out"
  exit 0
fi
mkdir -p "$out.tmp"
cd "$root/hack/k8stools"
ldf="-s -w -X k8s.io/component-base/version.gitVersion=$ver -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean"
go build -ldflags "$ldf" -o "$out.tmp/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl >&2
go build -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3 >&2
rm -rf "$out" && mv "$out.tmp" "$out"
echo "$out"
