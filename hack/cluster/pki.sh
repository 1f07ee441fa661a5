#!/usr/bin/env bash
# A throwaway PKI for the lab cluster (openssl): a CA; the API server's serving
# certificate, valid for the names a client uses (127.0.0.1 here, 10.0.2.2 from
# the qemu guest, 10.96.0.1 = the `kubernetes` Service from a pod); client
# certificates for admin, the API server towards kubelets, the controller-manager,
# the scheduler, node1's and node2's kubelets (group system:nodes) and kube-proxy; and the
# service-account key pair. Usage: pki.sh DIR (does nothing if DIR has a CA).
set -euo pipefail
d=$1
mkdir -p "$d" && cd "$d"
[[ -f ca.crt ]] && exit 0
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 7 -subj /CN=frr-k8s-evpn-lab-ca 2>/dev/null
cert() { # name subject [subjectAltName]
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  local ext=()
  if [[ -n ${3:-} ]]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$1.ext"
    ext=(-extfile "$1.ext")
  fi
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 7 "${ext[@]}" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
cert apiserver /CN=kube-apiserver \
  "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:10.0.2.2,IP:10.96.0.1"
cert admin /O=system:masters/CN=admin
cert apiserver-kubelet-client /O=system:masters/CN=kube-apiserver-kubelet-client
cert controller-manager /CN=system:kube-controller-manager
cert scheduler /CN=system:kube-scheduler
cert kubelet-node1 /O=system:nodes/CN=system:node:node1
cert kubelet-node2 /O=system:nodes/CN=system:node:node2
cert kube-proxy /CN=system:kube-proxy
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
