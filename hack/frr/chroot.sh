#!/bin/sh
# chroot.sh ROOT COMMAND [ARG...] runs a command of an FRR root filesystem (made by
# hack/frr/rootfs.sh) as if that FRR were installed on this machine: in a private
# mount namespace, with this machine's /proc, /sys, /dev, /tmp and /run seen at the
# same paths inside ROOT. Paths under /tmp and /run (vty sockets, configurations,
# work folders) therefore mean the same inside and out, and the network namespace
# is the caller's (run it under `ip netns exec` for another).
#
# FRR keeps some sockets at fixed paths under /run/frr (mgmtd's), whatever
# --vty_socket says: with FRR_RUNDIR set, that folder is seen as /run/frr, so that
# several FRRs on one machine each have their own.
#
# PATH inside is the root's own: the caller's may hold this folder's wrappers
# (bin/vtysh), which, seen through /tmp, would run chroot.sh again inside.
root=$1
shift
exec unshare --mount --propagation private -- sh -c '
  root=$1; shift
  for d in proc sys dev tmp run; do mount --rbind "/$d" "$root/$d" || exit 1; done
  if [ -n "$FRR_RUNDIR" ]; then
    mkdir -p "$root/run/frr" && mount --bind "$FRR_RUNDIR" "$root/run/frr" || exit 1
  fi
  exec chroot "$root" /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"' chroot.sh "$root" "$@"
