#!/usr/bin/env bash
# Installs the Debian packages the tests need on this machine, when missing:
# iproute2 and ping (netns tests, the lab), tcpdump (the lab's diagnostics), the lab
# cluster's containerd, runc and CNI plugins. FRR itself is not installed here: every
# FRR layer runs the pinned FRR from its own root filesystem (hack/frr/rootfs.sh).
# Needs root, as on the project's machines.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v unshare >/dev/null || need+=(util-linux)
command -v tcpdump >/dev/null || need+=(tcpdump) # the lab's capture of the host-leg sessions
# The lab cluster's node (in the VM, which shares this machine's root): its container
# runtime and pod network, and the tools of its control plane's PKI and checks.
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[[ -x /usr/lib/cni/bridge ]] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v conntrack >/dev/null || need+=(conntrack)
if ((${#need[@]})); then
  echo "installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
