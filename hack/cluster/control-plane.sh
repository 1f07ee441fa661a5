#!/usr/bin/env bash
# The lab cluster's control plane on this machine: etcd, kube-apiserver (Node and
# RBAC authorization, ServiceAccount and NodeRestriction admission), the
# controller-manager (service-account tokens, the root CA ConfigMap, DaemonSets,
# garbage collection) and the scheduler, with the PKI of pki.sh and connectproxy
# for the API server's traffic to the guest's kubelet. The guest reaches the API
# server at https://10.0.2.2:16443 (qemu's user network maps 10.0.2.2 to this
# machine's loopback).
#   control-plane.sh up RUN     start, writing PKI, kubeconfigs and logs into RUN
#   control-plane.sh down RUN   stop, in the order that lets each part exit
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cmd=${1:?up or down}
run=$(realpath -m "${2:?RUN directory}")
port=16443
if [[ $cmd == down ]]; then
  # kube-apiserver's graceful shutdown removes its endpoint lease from etcd and
  # hangs if etcd is gone first: stop each and wait for it before the next.
  for p in scheduler controller-manager apiserver connectproxy etcd; do
    [[ -f $run/$p.pid ]] || continue
    pid=$(cat "$run/$p.pid")
    rm -f "$run/$p.pid"
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  exit 0
fi

k8s=$("$root/hack/build-k8s.sh")
node=$("$root/hack/build-k8s.sh" node)
pki=$run/pki
mkdir -p "$run"
"$root/hack/cluster/pki.sh" "$pki"
kubeconfig() { # user server file
  cat >"$3" <<KC
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "$2", certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")}
users:
- name: $1
  user: {client-certificate-data: $(base64 -w0 <"$pki/$1.crt"), client-key-data: $(base64 -w0 <"$pki/$1.key")}
contexts:
- name: lab
  context: {cluster: lab, user: $1}
current-context: lab
KC
}
kubeconfig admin https://127.0.0.1:$port "$run/admin.kubeconfig"
kubeconfig controller-manager https://127.0.0.1:$port "$run/controller-manager.kubeconfig"
kubeconfig scheduler https://127.0.0.1:$port "$run/scheduler.kubeconfig"
# The guests': the same CA, the API server through qemu's user network.
kubeconfig kubelet-node1 https://10.0.2.2:$port "$run/kubelet-node1.kubeconfig"
kubeconfig kubelet-node2 https://10.0.2.2:$port "$run/kubelet-node2.kubeconfig"
kubeconfig kube-proxy https://10.0.2.2:$port "$run/kube-proxy.kubeconfig"
kubeconfig admin https://10.0.2.2:$port "$run/guest-admin.kubeconfig"
# Node traffic (logs, exec) goes to connectproxy, which knows qemu's port forward.
cat >"$run/egress-selector.yaml" <<EOF2
apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds: {udsName: $run/connectproxy.sock}
EOF2

start() { # name command...
  local n=$1
  shift
  "$@" >"$run/$n.log" 2>&1 &
  echo $! >"$run/$n.pid"
}
(cd "$root" && go build -o "$run/connectproxy" ./hack/cluster/connectproxy)
# node1 is 10.0.2.15 and node2 10.0.2.16, each in a qemu user network of its own.
start connectproxy "$run/connectproxy" -listen "$run/connectproxy.sock" \
  -map 10.0.2.15:10250=127.0.0.1:${KUBELET_FWD_PORT:-20250} -map 10.0.2.16:10250=127.0.0.1:$((${KUBELET_FWD_PORT:-20250} + 1))
rm -rf "$run/etcd-data"
start etcd "$k8s/etcd" --data-dir "$run/etcd-data" --name lab --unsafe-no-fsync \
  --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
  --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
  --initial-cluster lab=http://127.0.0.1:23800
start apiserver "$k8s/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:23790 \
  --bind-address=127.0.0.1 --secure-port=$port --advertise-address=10.0.2.2 \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP --egress-selector-config-file="$run/egress-selector.yaml" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true
admin=(--cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key")
for _ in $(seq 240); do
  curl -sf "${admin[@]}" https://127.0.0.1:$port/readyz >/dev/null && break
  sleep 0.5
done
curl -sf "${admin[@]}" https://127.0.0.1:$port/readyz >/dev/null ||
  { echo "kube-apiserver is not ready: see $run/apiserver.log" >&2; exit 1; }
start controller-manager "$node/kube-controller-manager" \
  --kubeconfig="$run/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$run/controller-manager.kubeconfig" --authorization-kubeconfig="$run/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --use-service-account-credentials=true --service-cluster-ip-range=10.96.0.0/16 \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key"
start scheduler "$node/kube-scheduler" \
  --kubeconfig="$run/scheduler.kubeconfig" \
  --authentication-kubeconfig="$run/scheduler.kubeconfig" --authorization-kubeconfig="$run/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false
echo "control plane up: KUBECONFIG=$run/admin.kubeconfig"
