#!/bin/bash
# Runs in the qemu guest for e2e/cluster/run.sh: node1 of the lab cluster, with a
# NIC for the fabric (eth1, a veth whose other end is a stand-in leaf netns), then
# runs what the host asks of it (e2e/cluster/run.sh's guest) until the host is done.
set -u
. "$ROOT/hack/cluster/node.sh"
ip netns add leaf
ip link add eth1 type veth peer name swp1 netns leaf
ip addr add 192.168.11.1/24 dev eth1
ip link set eth1 up
ip -n leaf addr add 192.168.11.2/24 dev swp1
ip -n leaf link set swp1 up
touch "$OUT/node-started"
# The host's way to look at and act on the node's own network (run.sh's guest):
# each $OUT/cmd/N.sh runs once, in the node's host netns, as root; its output goes
# to N.out and its exit code to N.rc, written last.
mkdir -p "$OUT/cmd"
end=$((SECONDS + ${GUEST_HOLD:-3600}))
while [[ ! -e $OUT/done && $SECONDS -lt $end ]]; do
  for c in "$OUT"/cmd/*.sh; do
    [[ -e $c && ! -e ${c%.sh}.rc ]] || continue
    bash "$c" >"${c%.sh}.out" 2>&1
    echo $? >"${c%.sh}.rc.tmp" && mv "${c%.sh}.rc.tmp" "${c%.sh}.rc"
  done
  sleep 0.3
done
{
  echo "--- free -m"; free -m
  echo "--- RSS (MiB)"; ps -eo rss,comm --sort=-rss | awk 'NR>1 && NR<16 {printf "%6.0f %s\n", $1/1024, $2}'
  echo "--- netns"; ip netns list
  echo "--- links in evpnrouter"; ip -n evpnrouter -br link 2>&1
} >"$OUT/guest-report.txt" 2>&1
