#!/bin/bash
# Runs in the qemu guest for e2e/cluster/run.sh: node1 of the lab cluster, with a
# NIC for the fabric (eth1, a veth whose other end is a stand-in leaf netns), then
# waits for the host to say it is done.
set -u
. "$ROOT/hack/cluster/node.sh"
ip netns add leaf
ip link add eth1 type veth peer name swp1 netns leaf
ip addr add 192.168.11.1/24 dev eth1
ip link set eth1 up
ip -n leaf addr add 192.168.11.2/24 dev swp1
ip -n leaf link set swp1 up
touch "$OUT/node-started"
for _ in $(seq "${GUEST_HOLD:-1800}"); do [[ -e $OUT/done ]] && break; sleep 1; done
{
  echo "--- free -m"; free -m
  echo "--- RSS (MiB)"; ps -eo rss,comm --sort=-rss | awk 'NR>1 && NR<16 {printf "%6.0f %s\n", $1/1024, $2}'
  echo "--- netns"; ip netns list
  echo "--- links in evpnrouter"; ip -n evpnrouter -br link 2>&1
} >"$OUT/guest-report.txt" 2>&1
