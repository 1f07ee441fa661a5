#!/bin/bash
# Sourced in the qemu guest (hack/vm/boot.sh, NET=user): makes it node NODE (node1
# or node2) of the lab cluster whose control plane runs on this machine
# (control-plane.sh, reached at https://10.0.2.2:16443): containerd + runc + Debian's
# CNI plugins, kubelet and kube-proxy. It imports the images named in NODE_IMAGES first (so that nothing is
# ever pulled), starts the node's daemons in the background and returns.
# Env: NODE (node1 by default), RUN (control-plane.sh's folder: PKI and kubeconfigs),
# NODE_BIN (kubelet, kube-proxy), NODE_IMAGES (OCI archives, space-separated), OUT (logs),
# NODE_LABELS (the kubelet's --node-labels: a Node object deleted and registered
# again by its kubelet has these, and only these), NODE_IMAGE_TAGS (more names for
# imported images, IMAGE=NEW-NAME, space-separated: a new tag a rollout asks for is
# there from boot, on a node booted again too, as a registry would serve it).
: "${RUN:?}" "${NODE_BIN:?}" "${NODE_IMAGES:?}" "${OUT:?}"
NODE=${NODE:-node1}
# Each node has a qemu user network of its own (10.0.2.2 is this machine either way),
# its own address in it (connectproxy tells them apart) and its own pod range.
node_n=${NODE#node}
node_ip=10.0.2.$((14 + node_n))
pod_cidr=10.244.$((node_n - 1)).0/24
nodelog() { echo "[$NODE $(cut -d' ' -f1 /proc/uptime)s] $*"; }

# cgroup v2 with the controllers kubelet wants (the guest's init mounts none).
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
echo "+cpuset +cpu +io +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
# Bidirectional and HostToContainer propagation need shared mounts (no systemd here).
mount --make-rshared /
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
# Modules: kube-proxy's (iptables, conntrack), the pod network's (bridge, veth) and
# ours (vrf, vxlan). dummy with numdummies=0, or it adds a dummy0 when it loads.
busybox modprobe dummy numdummies=0
for m in overlay br_netfilter veth bridge vrf vxlan nf_conntrack nf_nat nf_tables nft_compat nft_chain_nat \
  xt_MASQUERADE xt_comment xt_mark xt_conntrack xt_addrtype xt_nat xt_statistic; do
  busybox modprobe $m || missing="${missing:-} $m"
done
# Without them kube-proxy exits and in-cluster clients' connections to the Service
# IP leave through qemu's network instead, far from where it went wrong: stop here.
if [[ -n ${missing:-} ]]; then
  nodelog "kernel modules missing:$missing; not joining the cluster"
  exit 1
fi
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
  net.ipv4.conf.all.route_localnet=1
# The management network: qemu's user network (10.0.2.2 is this machine's loopback).
ip link set eth0 up
ip addr add $node_ip/24 dev eth0
ip route add default via 10.0.2.2
# Pods reach the management network (the API server) as the node, and everything
# else as themselves: a pod on another node or behind the fabric answers the pod's
# own address, through the router (the CNI's ipMasq would hide it behind the host
# leg's address, which only this node's router can answer).
iptables -t nat -A POSTROUTING -s 10.244.0.0/16 -o eth0 -j MASQUERADE
hostname $NODE
echo "127.0.0.1 localhost $NODE" >/etc/hosts
# overlayfs snapshots cannot take the guest's overlay root as their upper dir.
for d in /var/lib/containerd /var/lib/kubelet /var/log/pods /var/log/containers; do
  mkdir -p $d && mount -t tmpfs -o mode=0755 tmpfs $d
done

etc=/run/lab-node
mkdir -p $etc/cni
cat >$etc/containerd.toml <<EOT
# containerd 1.6 (Debian bookworm): runc with cgroupfs, our pause image, our CNI.
version = 2
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$etc/cni"
EOT
cat >$etc/cni/10-lab.conflist <<EOT
{
  "cniVersion": "1.0.0",
  "name": "lab",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "/run/cni-ipam",
              "ranges": [[{"subnet": "$pod_cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOT
cat >$etc/kubelet.yaml <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
cgroupDriver: cgroupfs    # containerd 1.6 cannot report it
failSwapOn: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $RUN/pki/ca.crt}
authorization: {mode: Webhook}
clusterDomain: cluster.local
resolvConf: ""            # no DNS in the lab; in-cluster clients use the Service IP
registerNode: true
serializeImagePulls: false
# The node's disks are small tmpfs mounts: no eviction or image GC for them.
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%", imagefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusUpdateFrequency: 10s
EOT
cat >$etc/kube-proxy.yaml <<EOT
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: $RUN/kube-proxy.kubeconfig}
hostnameOverride: $NODE
clusterCIDR: 10.244.0.0/16
conntrack: {maxPerCore: 0}
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
EOT

containerd --config $etc/containerd.toml >"$OUT/containerd.log" 2>&1 &
for _ in $(seq 300); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
for i in $NODE_IMAGES; do
  ctr -n k8s.io images import "$i" >/dev/null || nodelog "importing $i failed"
done
for t in ${NODE_IMAGE_TAGS:-}; do
  ctr -n k8s.io images tag "${t%%=*}" "${t#*=}" >/dev/null || nodelog "tagging $t failed"
done
nodelog "containerd up, images imported: $(ctr -n k8s.io images ls -q | grep -vc sha256)"
"$NODE_BIN/kubelet" --config=$etc/kubelet.yaml --kubeconfig="$RUN/kubelet-$NODE.kubeconfig" \
  --hostname-override=$NODE --node-ip=$node_ip ${NODE_LABELS:+--node-labels=$NODE_LABELS} --v=1 >"$OUT/kubelet.log" 2>&1 &
"$NODE_BIN/kube-proxy" --config=$etc/kube-proxy.yaml >"$OUT/kube-proxy.log" 2>&1 &
nodelog "kubelet and kube-proxy started"
